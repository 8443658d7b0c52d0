//! NF descriptions (section 3.2) and the hardware description of a rack (sections 3.2, 7).

use std::collections::BTreeMap;

use base::Bps;
use thiserror::Error;

use crate::switch::UpdateLatency;

/// Affinity key: which 5-tuple fields (address prefixes included) define the aggregate whose
/// packets must reach the same instance. Section 3.2 (4): "Our prototype accepts affinity
/// constraints defined in terms of the 5-tuple with wildcards."
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AffinityKey {
    /// Prefix length of the source address in the key, 0 (wildcard) to 32.
    pub src_prefix: u8,
    pub dst_prefix: u8,
    pub src_port: bool,
    pub dst_port: bool,
    pub proto: bool,
}

impl AffinityKey {
    /// "all packets in a flow"
    pub const FIVE_TUPLE: AffinityKey =
        AffinityKey { src_prefix: 32, dst_prefix: 32, src_port: true, dst_port: true, proto: true };
    pub const SRC_IP: AffinityKey = AffinityKey {
        src_prefix: 32,
        dst_prefix: 0,
        src_port: false,
        dst_port: false,
        proto: false,
    };
    pub const DST_IP: AffinityKey = AffinityKey {
        src_prefix: 0,
        dst_prefix: 32,
        src_port: false,
        dst_port: false,
        proto: false,
    };

    /// Every two packets that agree on `other` also agree on `self`: `self`'s aggregates are
    /// unions of `other`'s. A split on `self` then keeps each of `other`'s aggregates on one
    /// instance.
    pub fn is_coarser_or_equal(&self, other: &AffinityKey) -> bool {
        self.src_prefix <= other.src_prefix
            && self.dst_prefix <= other.dst_prefix
            && (!self.src_port || other.src_port)
            && (!self.dst_port || other.dst_port)
            && (!self.proto || other.proto)
    }
}

/// An NF's affinity constraint.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Affinity {
    /// Stateless: any instance may take any packet. Its input is still split by a hash of the
    /// 5-tuple (our choice: the distributor always hashes on something).
    None,
    Key(AffinityKey),
}

impl Affinity {
    /// The key E2 hashes on to split this NF's input.
    pub fn split_key(&self) -> AffinityKey {
        match self {
            Affinity::None => AffinityKey::FIVE_TUPLE,
            Affinity::Key(k) => *k,
        }
    }
    /// A split on `upstream` already satisfies this constraint.
    pub fn satisfied_by_split_on(&self, upstream: &AffinityKey) -> bool {
        match self {
            Affinity::None => true,
            Affinity::Key(k) => upstream.is_coarser_or_equal(k),
        }
    }
}

/// An NF description, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct NfTypeSpec {
    pub name: String,
    /// Section 3.2 (5): "an estimate of the per-core ... traffic rate that the NF can sustain"
    /// (at the rack's clock; the per-GHz normalisation is left to whoever writes the file).
    pub per_core_bps: u64,
    pub affinity: Affinity,
    /// Section 3.2 (3): "whether the application can be scaled across servers/cores or not".
    pub replicable: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HardwareError {
    #[error("NF type {name} is described twice")]
    DuplicateNfType { name: String },
    #[error("NF type {name}: per_core_bps must be positive")]
    ZeroRate { name: String },
    #[error("rack: {what} must be positive")]
    Zero { what: &'static str },
    #[error("rack: {reserved} reserved cores leave no core for NFs on a {cores}-core server")]
    NoNfCores { cores: u32, reserved: u32 },
}

/// Validated NF descriptions, by type name.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NfCatalog {
    pub types: BTreeMap<String, NfTypeSpec>,
}

impl NfCatalog {
    pub fn new(specs: &[NfTypeSpec]) -> Result<NfCatalog, HardwareError> {
        let mut types = BTreeMap::new();
        for s in specs {
            if s.per_core_bps == 0 {
                return Err(HardwareError::ZeroRate { name: s.name.clone() });
            }
            if types.insert(s.name.clone(), s.clone()).is_some() {
                return Err(HardwareError::DuplicateNfType { name: s.name.clone() });
            }
        }
        Ok(NfCatalog { types })
    }
}

/// A rack: identical servers behind one switch, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct RackSpec {
    pub servers: u32,
    pub cores_per_server: u32,
    /// Cores each server keeps for the E2D layer. Section 7: "On each server, we dedicate one
    /// core to run the E2D layer."
    pub reserved_cores: u32,
    pub nic_bps: u64,
    pub external_ports: u32,
    pub port_bps: u64,
    /// Switching capacity; `None` = non-blocking (every port at line rate both ways).
    pub switch_bps: Option<u64>,
    pub flow_table_entries: usize,
    pub hw_rule_update: UpdateLatency,
    pub sw_rule_update: UpdateLatency,
}

impl RackSpec {
    /// Section 7.2's simulated rack: "a rackscale E2 system (i.e., with 24 servers and 24
    /// external ports)". Server and switch figures from the prototype (section 7): 10 Gbps
    /// links, a 48-port 10 Gbps switch with 2,048 flow-table entries, Xeon E5-2650 v2 servers
    /// with 2 x 8 = 16 cores, one of them for E2D. Rule updates: hardware 1-8 ms, mean 3 ms,
    /// one at a time; software dataplane 20 us per rule.
    pub fn e2_rack() -> RackSpec {
        RackSpec {
            servers: 24,
            cores_per_server: 16,
            reserved_cores: 1,
            nic_bps: 10_000_000_000,
            external_ports: 24,
            port_bps: 10_000_000_000,
            switch_bps: None,
            flow_table_entries: 2048,
            hw_rule_update: UpdateLatency::e2_hardware(),
            sw_rule_update: UpdateLatency::e2_software(),
        }
    }
}

/// A validated rack.
#[derive(Clone, Debug, PartialEq)]
pub struct Rack {
    pub servers: usize,
    /// Cores per server available to NF instances (one instance per core).
    pub nf_cores: usize,
    pub nic: Bps,
    pub external_ports: u32,
    pub port: Bps,
    pub switch: Bps,
    pub flow_table_entries: usize,
    pub hw_rule_update: UpdateLatency,
    pub sw_rule_update: UpdateLatency,
}

impl TryFrom<&RackSpec> for Rack {
    type Error = HardwareError;
    fn try_from(s: &RackSpec) -> Result<Rack, HardwareError> {
        for (v, what) in [
            (s.servers as u64, "servers"),
            (s.cores_per_server as u64, "cores_per_server"),
            (s.nic_bps, "nic_bps"),
            (s.port_bps, "port_bps"),
        ] {
            if v == 0 {
                return Err(HardwareError::Zero { what });
            }
        }
        if s.reserved_cores >= s.cores_per_server {
            return Err(HardwareError::NoNfCores {
                cores: s.cores_per_server,
                reserved: s.reserved_cores,
            });
        }
        // Non-blocking: every switch port (one per server, plus the external ones) at line rate.
        let switch =
            s.switch_bps.unwrap_or((s.servers as u64 + s.external_ports as u64) * s.port_bps);
        Ok(Rack {
            servers: s.servers as usize,
            nf_cores: (s.cores_per_server - s.reserved_cores) as usize,
            nic: Bps(s.nic_bps),
            external_ports: s.external_ports,
            port: Bps(s.port_bps),
            switch: Bps(switch),
            flow_table_entries: s.flow_table_entries,
            hw_rule_update: s.hw_rule_update.clone(),
            sw_rule_update: s.sw_rule_update.clone(),
        })
    }
}

impl Rack {
    pub fn total_nf_cores(&self) -> usize {
        self.servers * self.nf_cores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_7_2_rack_has_360_nf_cores_and_a_480_gbps_switch() {
        let r = Rack::try_from(&RackSpec::e2_rack()).unwrap();
        assert_eq!(r.total_nf_cores(), 24 * 15);
        assert_eq!(r.switch, Bps(480_000_000_000));
        assert_eq!(r.flow_table_entries, 2048);
    }

    #[test]
    fn a_source_ip_split_satisfies_flow_affinity_but_not_the_reverse() {
        // Figure 4(d): A groups by source IP, B needs the 5-tuple.
        let b = Affinity::Key(AffinityKey::FIVE_TUPLE);
        assert!(b.satisfied_by_split_on(&AffinityKey::SRC_IP));
        assert!(!Affinity::Key(AffinityKey::SRC_IP).satisfied_by_split_on(&AffinityKey::FIVE_TUPLE));
        assert!(!Affinity::Key(AffinityKey::DST_IP).satisfied_by_split_on(&AffinityKey::SRC_IP));
        // A /16 source split keeps every /24 together.
        let s16 = AffinityKey { src_prefix: 16, ..AffinityKey::SRC_IP };
        let s24 = AffinityKey { src_prefix: 24, ..AffinityKey::SRC_IP };
        assert!(Affinity::Key(s24).satisfied_by_split_on(&s16));
        assert!(!Affinity::Key(s16).satisfied_by_split_on(&s24));
    }

    #[test]
    fn reserving_every_core_is_rejected() {
        let s = RackSpec { reserved_cores: 16, ..RackSpec::e2_rack() };
        assert_eq!(
            Rack::try_from(&s).unwrap_err(),
            HardwareError::NoNfCores { cores: 16, reserved: 16 }
        );
    }
}
