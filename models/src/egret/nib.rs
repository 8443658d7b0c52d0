//! The network information base and Egret's two discovery building blocks (section 3.1).
//!
//! Egret 4.1: "Our prototype is capable of migrating traffic across multiple anchor points
//! with a simple algorithm that finds parent nodes of *Target* and *Peer(s)* and their closest
//! common ancestor." The NIB is a `petgraph` graph whose edges point from a node to the nodes
//! it steers traffic to (a load balancer to its firewalls, an aggregation switch to its ToRs,
//! a DNS server to its network zones): the tree of Figure 2.
//!
//! ```text
//!                agg            <- closest common ancestor of A and C
//!              /     \
//!           tor1     tor2       <- parents of A and C
//!           /  \     /  \
//!          A    B   C    D      {Target: A, Peers: [C]} -> anchors tor1, agg, tor2
//! ```
//!
//! Migration mechanism discovery (section 2.4): a router migrates *locally* (its own OSPF
//! weights); every other target migrates *remotely*, on its anchor points.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

/// What a NIB node is; decides the migration mechanism and the configuration generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeType {
    /// Migrates locally by raising its links' OSPF weights (MOP 2.2.1). `links`: (link name,
    /// OSPF weight in the base configuration).
    Router { links: Vec<(String, u16)> },
    /// An L4 load balancer: per-port weights.
    LoadBalancer,
    /// An SDN switch: flow entries (hash ranges to ports).
    SdnSwitch,
    /// A DNS server whose records steer services between zones (MOP 2.2.3).
    DnsServer,
    /// An MME pool's selection (eNodeBs pick MMEs by "RelativeMmeCapacity", MOP 2.2.2).
    MmePool,
    /// A network function or host behind an anchor. `stateful`: existing traffic must be moved
    /// with its state (observation 3).
    Function { stateful: bool },
    /// A network zone (a DNS target).
    Zone,
}

#[derive(Clone, Debug)]
pub struct NibNode {
    pub name: String,
    pub kind: NodeType,
}

/// Where a job's traffic is steered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// On the target itself (a router's OSPF weights).
    Local,
    /// On anchor points, listed bottom-up: the target's side, the closest common ancestor,
    /// the peers' side.
    Remote { anchors: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NibError {
    #[error("no node named `{0}` in the network information base")]
    UnknownNode(String),
    #[error("`{0}` has no parent that can steer its traffic")]
    NoParent(String),
    #[error("`{target}` and `{peer}` have no common ancestor")]
    NoCommonAncestor { target: String, peer: String },
}

/// The topology Egret reads.
#[derive(Clone, Debug, Default)]
pub struct Nib {
    g: DiGraph<NibNode, ()>,
    by_name: BTreeMap<String, NodeIndex>,
}

impl Nib {
    pub fn new() -> Nib {
        Nib::default()
    }

    /// Adds a node (names are unique: adding a name twice returns the first node).
    pub fn add(&mut self, name: &str, kind: NodeType) -> NodeIndex {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let i = self.g.add_node(NibNode { name: name.to_string(), kind });
        self.by_name.insert(name.to_string(), i);
        i
    }

    /// `parent` steers traffic to `child`.
    pub fn link(&mut self, parent: &str, child: &str) -> Result<(), NibError> {
        let (p, c) = (self.index(parent)?, self.index(child)?);
        self.g.add_edge(p, c, ());
        Ok(())
    }

    fn index(&self, name: &str) -> Result<NodeIndex, NibError> {
        self.by_name.get(name).copied().ok_or_else(|| NibError::UnknownNode(name.to_string()))
    }

    pub fn node(&self, name: &str) -> Result<&NibNode, NibError> {
        Ok(&self.g[self.index(name)?])
    }

    /// The nodes `name` steers to, in insertion order (an anchor's ports).
    pub fn children(&self, name: &str) -> Result<Vec<String>, NibError> {
        let i = self.index(name)?;
        let mut c: Vec<NodeIndex> = self.g.neighbors_directed(i, Direction::Outgoing).collect();
        c.sort(); // petgraph lists the newest edge first; ports go in insertion order
        Ok(c.into_iter().map(|n| self.g[n].name.clone()).collect())
    }

    /// The first parent (in insertion order) of `name`.
    pub fn parent(&self, name: &str) -> Result<Option<String>, NibError> {
        let i = self.index(name)?;
        Ok(self.g.neighbors_directed(i, Direction::Incoming).min().map(|p| self.g[p].name.clone()))
    }

    /// `name` and its ancestors, nearest first.
    fn ancestry(&self, name: &str) -> Result<Vec<String>, NibError> {
        let mut chain = vec![name.to_string()];
        let mut cur = name.to_string();
        while let Some(p) = self.parent(&cur)? {
            if chain.contains(&p) {
                break; // a loop in the NIB: stop rather than spin
            }
            chain.push(p.clone());
            cur = p;
        }
        Ok(chain)
    }

    /// Migration mechanism discovery and anchor point discovery (Egret 3.1). `peers` empty:
    /// the target's parent steers among its children.
    pub fn discover(&self, target: &str, peers: &[String]) -> Result<Mechanism, NibError> {
        if let NodeType::Router { .. } = self.node(target)?.kind {
            return Ok(Mechanism::Local);
        }
        let up = self.ancestry(target)?;
        if up.len() < 2 {
            return Err(NibError::NoParent(target.to_string()));
        }
        let mut anchors: Vec<String> = Vec::new();
        let mut push = |a: &String| {
            if !anchors.contains(a) {
                anchors.push(a.clone());
            }
        };
        if peers.is_empty() {
            push(&up[1]);
            return Ok(Mechanism::Remote { anchors });
        }
        let mut target_side: Vec<String> = Vec::new();
        let mut peer_sides: Vec<Vec<String>> = Vec::new();
        let mut lca_depth = 1; // the closest common ancestor of the target and every peer
        for peer in peers {
            let theirs = self.ancestry(peer)?;
            let k = up.iter().skip(1).position(|a| theirs[1..].contains(a)).ok_or_else(|| {
                NibError::NoCommonAncestor { target: target.into(), peer: peer.clone() }
            })? + 1;
            lca_depth = lca_depth.max(k);
            let j = theirs.iter().position(|a| *a == up[k]).expect("invariant: found above");
            peer_sides.push(theirs[1..j].to_vec());
        }
        target_side.extend(up[1..lca_depth].iter().cloned());
        target_side.iter().for_each(&mut push);
        push(&up[lca_depth]);
        for side in &peer_sides {
            side.iter().for_each(&mut push);
        }
        Ok(Mechanism::Remote { anchors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure2() -> Nib {
        let mut n = Nib::new();
        n.add("agg", NodeType::SdnSwitch);
        for (tor, servers) in [("tor1", ["A", "B"]), ("tor2", ["C", "D"])] {
            n.add(tor, NodeType::SdnSwitch);
            n.link("agg", tor).unwrap();
            for s in servers {
                n.add(s, NodeType::Function { stateful: false });
                n.link(tor, s).unwrap();
            }
        }
        n
    }

    #[test]
    fn figure2_servers_on_different_racks_use_tors_and_agg() {
        let m = figure2().discover("A", &["C".into()]).unwrap();
        assert_eq!(
            m,
            Mechanism::Remote { anchors: vec!["tor1".into(), "agg".into(), "tor2".into()] }
        );
    }

    #[test]
    fn same_rack_uses_the_tor_only() {
        let m = figure2().discover("A", &["B".into()]).unwrap();
        assert_eq!(m, Mechanism::Remote { anchors: vec!["tor1".into()] });
        let m = figure2().discover("A", &[]).unwrap();
        assert_eq!(m, Mechanism::Remote { anchors: vec!["tor1".into()] });
    }

    #[test]
    fn router_is_local_and_unknown_is_an_error() {
        let mut n = figure2();
        n.add("pe1", NodeType::Router { links: vec![("l1".into(), 10)] });
        assert_eq!(n.discover("pe1", &[]).unwrap(), Mechanism::Local);
        assert_eq!(n.discover("zz", &[]), Err(NibError::UnknownNode("zz".into())));
        assert_eq!(n.discover("agg", &[]), Err(NibError::NoParent("agg".into())));
        assert_eq!(n.children("tor2").unwrap(), vec!["C".to_string(), "D".to_string()]);
    }
}
