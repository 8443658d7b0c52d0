//! The scenario file as serde reads it: every value keeps its span, nearly every key is
//! optional (a missing required key is reported by validation, with the others), and
//! quantities with units stay text until validation parses them.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub name: Option<S<String>>,
    pub seed: Option<S<u64>>,
    pub replications: Option<S<u32>>,
    pub duration: Option<S<Quantity>>,
    pub drain_limit: Option<S<Quantity>>,
    pub controller: Option<S<ControllerSpec>>,
    #[serde(default)]
    pub nodes: Vec<S<NodeSpec>>,
    #[serde(default)]
    pub links: Vec<S<LinkSpec>>,
    #[serde(default)]
    pub workloads: Vec<S<WorkloadSpec>>,
    pub protocol: Option<S<ProtocolSpec>>,
    #[serde(default)]
    pub timeline: Vec<S<TimelineSpec>>,
    pub metrics: Option<S<MetricsSpec>>,
    /// Set by the loader, not read from the file: where relative paths start, and the name
    /// used when the file has none (its file stem).
    #[serde(skip)]
    pub base_dir: PathBuf,
    #[serde(skip)]
    pub default_name: String,
    /// Byte offsets where the file's lines start (for "first on line N" hints).
    #[serde(skip)]
    pub line_starts: Vec<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerSpec {
    pub name: Option<S<String>>,
    pub per_msg: Option<S<Quantity>>,
    pub buffer_capacity: Option<S<u32>>,
    pub control_latency: Option<S<Quantity>>,
    pub control_jitter: Option<S<Quantity>>,
    pub control_ordered: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: Option<S<String>>,
    pub kind: Option<S<String>>,
    // switch
    pub table_capacity: Option<S<u64>>,
    pub update: Option<S<UpdateSpec>>,
    pub table_miss: Option<S<String>>,
    pub ingress: Option<S<bool>>,
    pub rules: Option<S<Vec<S<RuleSpec>>>>,
    // nf
    pub service: Option<S<Quantity>>,
    pub rate: Option<S<Quantity>>,
    pub queue: Option<S<u32>>,
    pub state_bytes: Option<S<u32>>,
    pub export_per_flow: Option<S<Quantity>>,
    pub import_per_flow: Option<S<Quantity>>,
    pub state_updates: Option<S<String>>,
    pub selective_cloning: Option<S<bool>>,
    pub fit_window: Option<S<Quantity>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec {
    pub model: Option<S<String>>,
    pub min: Option<S<Quantity>>,
    pub max: Option<S<Quantity>>,
    pub mean: Option<S<Quantity>>,
    pub per_rule: Option<S<Quantity>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: Option<S<String>>,
    pub priority: Option<S<u16>>,
    #[serde(rename = "match")]
    pub matcher: Option<S<MatchSpec>>,
    pub actions: Option<S<Vec<S<ActionSpec>>>>,
    pub idle_timeout: Option<S<Quantity>>,
}

/// A rule's match; `from` only in rules (a move's `flows` has no in-port).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    pub from: Option<S<String>>,
    pub src: Option<S<String>>,
    pub dst: Option<S<String>>,
    pub sport: Option<S<u16>>,
    pub dport: Option<S<u16>>,
    pub proto: Option<S<u8>>,
    pub hash: Option<S<Vec<S<u64>>>>,
    pub tag: Option<S<u16>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub between: Option<S<Vec<S<String>>>>,
    pub rate: Option<S<Quantity>>,
    pub delay: Option<S<Quantity>>,
    pub queue: Option<S<u32>>,
    pub queue_bytes: Option<S<Quantity>>,
    pub loss: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub source: Option<S<String>>,
    pub dist: Option<S<String>>,
    pub trace: Option<S<String>>,
    pub load: Option<S<f64>>,
    pub reference: Option<S<Quantity>>,
    pub mtu: Option<S<u32>>,
    pub flow_rate: Option<S<Quantity>>,
    pub pacing: Option<S<String>>,
    pub slow_start_rtt: Option<S<Quantity>>,
    pub initial_window: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSpec {
    pub name: Option<S<String>>,
    pub priority: Option<S<u16>>,
    pub guarantee: Option<S<String>>,
    pub parallelize: Option<S<bool>>,
    pub early_release: Option<S<bool>>,
    pub late_locking: Option<S<bool>>,
    pub reprocess: Option<S<bool>>,
    pub p2p: Option<S<bool>>,
    pub max_silence: Option<S<Quantity>>,
    pub transfer_delay: Option<S<Quantity>>,
    pub start_ho: Option<S<String>>,
    pub share: Option<S<f64>>,
    pub push_threshold: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineSpec {
    pub at: Option<S<Quantity>>,
    #[serde(rename = "move")]
    pub move_: Option<S<MoveSpec>>,
    pub link_down: Option<S<Vec<S<String>>>>,
    pub link_up: Option<S<Vec<S<String>>>>,
    pub nf_fail: Option<S<String>>,
    pub nf_restore: Option<S<String>>,
    pub set_load: Option<S<SetLoadSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLoadSpec {
    pub source: Option<S<String>>,
    pub load: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    pub record: Option<S<Vec<S<String>>>>,
    pub controller_buffer_series: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveSpec {
    pub flows: Option<S<FlowsSpec>>,
    pub from: Option<S<String>>,
    pub to: Option<S<String>>,
}

/// A number with a unit as written: text (`"10Gbps"`), or a bare number that validation
/// rejects with a "needs a unit" error (a bare `0` is accepted: zero needs no unit).
#[derive(Clone, Debug, PartialEq)]
pub enum Quantity {
    Text(String),
    Int(i64),
    Float(f64),
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Text(s) => f.write_str(s),
            Quantity::Int(i) => write!(f, "{i}"),
            Quantity::Float(x) => write!(f, "{x}"),
        }
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quoted number with a unit, such as \"250us\" or \"10Gbps\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(i64::try_from(v).map_or(Quantity::Float(v as f64), Quantity::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity::Float(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One action of a rule: a word (`"controller"`, `"duplicate"`, `"drop"`, checked by
/// validation) or a one-key table (`{ output = "fw1" }`, `{ set_tag = 3 }`).
#[derive(Clone, Debug, PartialEq)]
pub enum ActionSpec {
    Word(String),
    Output(S<String>),
    SetTag(S<u16>),
}

impl<'de> Deserialize<'de> for ActionSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ActionSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an action: { output = \"NAME\" }, { set_tag = N }, \"controller\", \
                     \"duplicate\" or \"drop\"",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ActionSpec, E> {
                Ok(ActionSpec::Word(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ActionSpec, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::invalid_length(0, &self));
                };
                let action = match key.as_str() {
                    "output" => ActionSpec::Output(map.next_value()?),
                    "set_tag" => ActionSpec::SetTag(map.next_value()?),
                    other => return Err(de::Error::unknown_field(other, &["output", "set_tag"])),
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "an action table has exactly one key; write each action separately",
                    ));
                }
                Ok(action)
            }
        }
        d.deserialize_any(V)
    }
}

/// The flows a move selects: `"all"` (checked by validation) or a match table without `from`.
#[derive(Debug)]
pub enum FlowsSpec {
    Word(String),
    Match(Box<MatchSpec>),
}

impl<'de> Deserialize<'de> for FlowsSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlowsSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"all\" or a match table such as { dst = \"10.0.0.0/8\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlowsSpec, E> {
                Ok(FlowsSpec::Word(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FlowsSpec, A::Error> {
                MatchSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|m| FlowsSpec::Match(Box::new(m)))
            }
        }
        d.deserialize_any(V)
    }
}
