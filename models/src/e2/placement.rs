//! Instance placement (step 4, section 5.1): E2's Kernighan-Lin-style local search, the two
//! strawmen of section 7.2 ("Random", "Packing") and incremental placement of a new instance.
//!
//! Objective: the inter-server traffic, i.e. the sum of the rates of iGraph edges between
//! instances on different servers. Edges to and from switch ports cross the switch wherever
//! the instance is, so they are a constant of every placement (they do count against NICs).
//!
//! Validity: at most `rack.nf_cores` instances per server (one instance per core), always.
//! With `enforce_nic`, also every server's NIC in each direction within `rack.nic` at the
//! iGraph's load estimate; Random never looks at NICs (it is the strawman).

use base::Rng;
use thiserror::Error;

use super::hardware::Rack;
use super::igraph::{Endpoint, IGraph};

#[derive(Debug, Error, PartialEq)]
pub enum PlacementError {
    #[error("{instances} instances do not fit in the rack's {cores} NF cores")]
    TooManyInstances { instances: usize, cores: usize },
    #[error("instance {instance} fits on no server without exceeding a core or NIC limit")]
    DoesNotFit { instance: String },
}

/// Instance index -> server index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub server_of: Vec<usize>,
}

const UNPLACED: usize = usize::MAX;
/// Rates are f64 bps summed in a fixed order; a gain or an excess below one part in 1e9 of
/// the traffic involved is rounding, not a change.
const REL_EPS: f64 = 1e-9;

/// The iGraph as placement sees it: instance-to-instance rates, both directions, dense.
struct Net {
    n: usize,
    /// Directed instance -> instance rates (parallel iGraph edges summed).
    out_adj: Vec<Vec<(usize, f64)>>,
    in_adj: Vec<Vec<(usize, f64)>>,
    /// Undirected weights, dense `n x n`.
    w: Vec<f64>,
    /// Neighbours in the undirected sense, sorted, with weights.
    und: Vec<Vec<(usize, f64)>>,
    port_in: Vec<f64>,
    port_out: Vec<f64>,
    total: f64,
}

impl Net {
    fn new(ig: &IGraph) -> Net {
        let n = ig.instances.len();
        let mut w = vec![0.0; n * n];
        let mut dir = vec![0.0; n * n];
        let (mut port_in, mut port_out) = (vec![0.0; n], vec![0.0; n]);
        let mut total = 0.0;
        for e in &ig.edges {
            total += e.rate_bps;
            match (e.from, e.to) {
                (Endpoint::Instance(a), Endpoint::Instance(b)) if a != b => {
                    dir[a * n + b] += e.rate_bps;
                    w[a * n + b] += e.rate_bps;
                    w[b * n + a] += e.rate_bps;
                }
                (Endpoint::Instance(_), Endpoint::Instance(_)) => {}
                (Endpoint::Port(_), Endpoint::Instance(b)) => port_in[b] += e.rate_bps,
                (Endpoint::Instance(a), Endpoint::Port(_)) => port_out[a] += e.rate_bps,
                (Endpoint::Port(_), Endpoint::Port(_)) => {}
            }
        }
        let mut out_adj = vec![vec![]; n];
        let mut in_adj = vec![vec![]; n];
        let mut und = vec![vec![]; n];
        for a in 0..n {
            for b in 0..n {
                if dir[a * n + b] > 0.0 {
                    out_adj[a].push((b, dir[a * n + b]));
                    in_adj[b].push((a, dir[a * n + b]));
                }
                if w[a * n + b] > 0.0 {
                    und[a].push((b, w[a * n + b]));
                }
            }
        }
        Net { n, out_adj, in_adj, w, und, port_in, port_out, total }
    }

    fn eps(&self) -> f64 {
        REL_EPS * self.total.max(1.0)
    }

    /// NIC (in, out) of server `s`. Edges to unplaced instances count as crossing (they may
    /// end up elsewhere), so the value never grows as the others are placed.
    fn nic(&self, server_of: &[usize], members: &[usize], s: usize) -> (f64, f64) {
        let (mut i, mut o) = (0.0, 0.0);
        for &x in members {
            i += self.port_in[x];
            o += self.port_out[x];
            for &(y, r) in &self.in_adj[x] {
                if server_of[y] != s {
                    i += r;
                }
            }
            for &(y, r) in &self.out_adj[x] {
                if server_of[y] != s {
                    o += r;
                }
            }
        }
        (i, o)
    }

    /// Inter-server traffic among instances.
    fn cut(&self, server_of: &[usize]) -> f64 {
        let mut c = 0.0;
        for a in 0..self.n {
            for &(b, r) in &self.out_adj[a] {
                if server_of[a] != server_of[b] {
                    c += r;
                }
            }
        }
        c
    }
}

/// Inter-server traffic among instances of `p` (the quantity placement minimises).
pub fn inter_server_traffic(ig: &IGraph, p: &Placement) -> f64 {
    Net::new(ig).cut(&p.server_of)
}

/// The ways `p` breaks the limits: `(server, cores used, nic in, nic out)` over the limits.
/// Empty = valid. NIC limits are checked only with `check_nic`.
pub fn violations(
    ig: &IGraph,
    rack: &Rack,
    p: &Placement,
    check_nic: bool,
) -> Vec<(usize, usize, f64, f64)> {
    let net = Net::new(ig);
    let members = members_of(&p.server_of, rack.servers);
    let cap = rack.nic.0 as f64;
    let mut out = vec![];
    for (s, m) in members.iter().enumerate() {
        let (i, o) = net.nic(&p.server_of, m, s);
        let nic_bad = check_nic && (i > cap * (1.0 + REL_EPS) || o > cap * (1.0 + REL_EPS));
        if m.len() > rack.nf_cores || nic_bad {
            out.push((s, m.len(), i, o));
        }
    }
    out
}

fn members_of(server_of: &[usize], servers: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![]; servers];
    for (x, &s) in server_of.iter().enumerate() {
        if s != UNPLACED {
            m[s].push(x);
        }
    }
    m
}

fn check_total(ig: &IGraph, rack: &Rack) -> Result<(), PlacementError> {
    if ig.instances.len() > rack.total_nf_cores() {
        return Err(PlacementError::TooManyInstances {
            instances: ig.instances.len(),
            cores: rack.total_nf_cores(),
        });
    }
    Ok(())
}

/// Depth-first order of the iGraph from `root` if given, else from the switch ports (edges in
/// iGraph order), then any instance not reached, by index.
pub fn dfs_order(ig: &IGraph, root: Option<usize>) -> Vec<usize> {
    let n = ig.instances.len();
    let mut succ = vec![vec![]; n];
    let mut roots = vec![];
    for e in &ig.edges {
        match (e.from, e.to) {
            (Endpoint::Instance(a), Endpoint::Instance(b)) => succ[a].push(b),
            (Endpoint::Port(_), Endpoint::Instance(b)) => roots.push(b),
            _ => {}
        }
    }
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let starts: Vec<usize> = root.into_iter().chain(roots).chain(0..n).collect();
    for r in starts {
        if seen[r] {
            continue;
        }
        let mut stack = vec![r];
        while let Some(x) = stack.pop() {
            if seen[x] {
                continue;
            }
            seen[x] = true;
            order.push(x);
            // Reverse so that the first successor is visited first.
            stack.extend(succ[x].iter().rev().filter(|&&y| !seen[y]));
        }
    }
    order
}

/// "Packing": "greedily packs nodes onto servers while traversing the iGraph depth-first".
/// Each instance goes to the current server if it has a free core (and, with `enforce_nic`,
/// that server's NIC stays within its rate counting every edge to an instance not on it,
/// placed or not, as crossing); otherwise to the next server that can take it.
pub fn place_packing(
    ig: &IGraph,
    rack: &Rack,
    enforce_nic: bool,
) -> Result<Placement, PlacementError> {
    pack_in_order(ig, rack, enforce_nic, &dfs_order(ig, None))
}

fn pack_in_order(
    ig: &IGraph,
    rack: &Rack,
    enforce_nic: bool,
    order: &[usize],
) -> Result<Placement, PlacementError> {
    check_total(ig, rack)?;
    let net = Net::new(ig);
    let mut server_of = vec![UNPLACED; net.n];
    let mut members = vec![vec![]; rack.servers];
    let mut cur = 0;
    for &x in order {
        let mut placed = false;
        for k in 0..rack.servers {
            let s = (cur + k) % rack.servers;
            if members[s].len() >= rack.nf_cores {
                continue;
            }
            server_of[x] = s;
            members[s].push(x);
            // Edges to unplaced instances count as crossing, so only `s`'s NIC can grow.
            if !enforce_nic || nic_ok(&net, rack, &server_of, &members[s], s) {
                cur = s;
                placed = true;
                break;
            }
            members[s].pop();
            server_of[x] = UNPLACED;
        }
        if !placed {
            return Err(PlacementError::DoesNotFit { instance: ig.instances[x].name.clone() });
        }
    }
    Ok(Placement { server_of })
}

/// NICs of `x`'s server and of every server holding a neighbour of `x` are within limits.
fn nic_ok_around(
    net: &Net,
    rack: &Rack,
    server_of: &[usize],
    members: &[Vec<usize>],
    x: usize,
) -> bool {
    let mut servers: Vec<usize> =
        net.und[x].iter().map(|&(y, _)| server_of[y]).filter(|&s| s != UNPLACED).collect();
    servers.push(server_of[x]);
    servers.sort_unstable();
    servers.dedup();
    servers.into_iter().all(|s| nic_ok(net, rack, server_of, &members[s], s))
}

fn nic_ok(net: &Net, rack: &Rack, server_of: &[usize], members: &[usize], s: usize) -> bool {
    let cap = rack.nic.0 as f64 * (1.0 + REL_EPS);
    let (i, o) = net.nic(server_of, members, s);
    i <= cap && o <= cap
}

/// "Random": "places nodes on servers at random" (uniformly among servers with a free core;
/// cores are respected, NICs are not looked at).
pub fn place_random(ig: &IGraph, rack: &Rack, rng: &mut Rng) -> Result<Placement, PlacementError> {
    check_total(ig, rack)?;
    let mut used = vec![0usize; rack.servers];
    let mut server_of = Vec::with_capacity(ig.instances.len());
    for _ in &ig.instances {
        let open: Vec<usize> = (0..rack.servers).filter(|&s| used[s] < rack.nf_cores).collect();
        let s = open[rng.below(open.len() as u64) as usize];
        used[s] += 1;
        server_of.push(s);
    }
    Ok(Placement { server_of })
}

/// How hard the local search tries after the paper's greedy phase.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SearchLimits {
    /// Classic Kernighan-Lin passes (tentative swaps, negative gains allowed, best prefix
    /// kept) after the greedy phase; 0 = the paper's greedy descent only.
    pub kl_passes: usize,
    /// A pass ends after this many tentative swaps without a new best prefix.
    pub pass_patience: usize,
    /// iGraphs with at most this many instances are also searched from the depth-first
    /// packing rooted at every instance (ours).
    pub restart_below: usize,
}

impl Default for SearchLimits {
    fn default() -> Self {
        SearchLimits { kl_passes: 4, pass_patience: 24, restart_below: 16 }
    }
}

/// The search state: placement, members, and `conn[x * S + s]` = weight from `x` to server `s`.
struct Search<'a> {
    net: &'a Net,
    rack: &'a Rack,
    enforce_nic: bool,
    server_of: Vec<usize>,
    members: Vec<Vec<usize>>,
    conn: Vec<f64>,
}

/// A swap of `x` with `y`, or with a free core of server `to` when `y` is `None`.
#[derive(Copy, Clone, Debug)]
struct Swap {
    x: usize,
    y: Option<usize>,
    to: usize,
    gain: f64,
}

impl<'a> Search<'a> {
    fn new(net: &'a Net, rack: &'a Rack, enforce_nic: bool, server_of: Vec<usize>) -> Self {
        let s = rack.servers;
        let members = members_of(&server_of, s);
        let mut conn = vec![0.0; net.n * s];
        for x in 0..net.n {
            for &(y, w) in &net.und[x] {
                conn[x * s + server_of[y]] += w;
            }
        }
        Search { net, rack, enforce_nic, server_of, members, conn }
    }

    fn c(&self, x: usize, s: usize) -> f64 {
        self.conn[x * self.rack.servers + s]
    }

    fn gain(&self, x: usize, y: Option<usize>, to: usize) -> f64 {
        let a = self.server_of[x];
        let gx = self.c(x, to) - self.c(x, a);
        match y {
            None => gx,
            Some(y) => gx + self.c(y, a) - self.c(y, to) - 2.0 * self.net.w[x * self.net.n + y],
        }
    }

    fn move_to(&mut self, x: usize, to: usize) {
        let a = self.server_of[x];
        let s = self.rack.servers;
        for &(z, w) in &self.net.und[x] {
            self.conn[z * s + a] -= w;
            self.conn[z * s + to] += w;
        }
        let pos = self.members[a]
            .iter()
            .position(|&m| m == x)
            .expect("invariant: x is a member of its server");
        self.members[a].swap_remove(pos);
        self.members[to].push(x);
        self.server_of[x] = to;
    }

    fn apply(&mut self, sw: Swap) {
        let a = self.server_of[sw.x];
        self.move_to(sw.x, sw.to);
        if let Some(y) = sw.y {
            self.move_to(y, a);
        }
    }

    fn undo(&mut self, sw: Swap, from: usize) {
        if let Some(y) = sw.y {
            self.move_to(y, sw.to);
        }
        self.move_to(sw.x, from);
    }

    /// NIC limits hold on the two servers a swap touched (no other server's NIC changes:
    /// an edge from `x` to server C crosses C's NIC before and after).
    fn valid_after(&mut self, sw: Swap) -> bool {
        if !self.enforce_nic {
            return true;
        }
        let a = self.server_of[sw.x];
        self.apply(sw);
        let ok = [a, sw.to]
            .iter()
            .all(|&s| nic_ok(self.net, self.rack, &self.server_of, &self.members[s], s));
        self.undo(sw, a);
        ok
    }

    /// Every swap between different servers (and every move into a free core), unlocked
    /// vertices only, with its gain. With `only_positive`, the ones that could gain: `x` must
    /// be connected to the target server or `y` to `x`'s (the other pairs are enumerated from
    /// `y`'s side or have no positive gain).
    fn candidates(&self, locked: &[bool], only_positive: bool, eps: f64) -> Vec<Swap> {
        let s_count = self.rack.servers;
        let mut out = vec![];
        for x in 0..self.net.n {
            if locked[x] {
                continue;
            }
            let a = self.server_of[x];
            for to in 0..s_count {
                if to == a || (only_positive && self.c(x, to) <= 0.0) {
                    continue;
                }
                if self.members[to].len() < self.rack.nf_cores {
                    let g = self.gain(x, None, to);
                    if !only_positive || g > eps {
                        out.push(Swap { x, y: None, to, gain: g });
                    }
                }
                for &y in &self.members[to] {
                    // Each unordered pair once when both sides are enumerated.
                    if locked[y] || (!only_positive && y < x) {
                        continue;
                    }
                    let g = self.gain(x, Some(y), to);
                    if !only_positive || g > eps {
                        out.push(Swap { x, y: Some(y), to, gain: g });
                    }
                }
            }
        }
        out
    }

    /// The valid candidate with the largest gain (ties: first enumerated).
    fn best(&mut self, locked: &[bool], only_positive: bool, eps: f64) -> Option<Swap> {
        let mut cands = self.candidates(locked, only_positive, eps);
        let top = cands.iter().copied().fold(None, |b: Option<Swap>, c| match b {
            Some(b) if b.gain >= c.gain => Some(b),
            _ => Some(c),
        });
        match top {
            None => return None,
            Some(t) if self.valid_after(t) => return Some(t),
            Some(_) => {}
        }
        // The best breaks a NIC limit: try the others in order of gain (a stable sort, so
        // ties keep enumeration order).
        cands.sort_by(|p, q| q.gain.total_cmp(&p.gain));
        cands.into_iter().skip(1).find(|&c| self.valid_after(c))
    }
}

/// E2's placement (section 5.1): "we begin with a valid solution that is obtained by
/// bin-packing vertices into partitions (servers) based on a depth-first search on the iGraph;
/// then in each iteration, we swap a pair of vertices from two different partitions. The pair
/// selected for a swap is the one that leads to the greatest reduction in cross-partition
/// traffic. These iterations continue until no further improvement can be made."
///
/// Free cores count as zero-weight vertices (so "swapping" with one is a move), as in the
/// classic heuristic for unbalanced partitions. After the greedy descent, classic
/// Kernighan-Lin passes ([`SearchLimits`]) escape some of its local optima; each pass keeps
/// only an improving prefix, so the cut never grows.
pub fn place_e2(
    ig: &IGraph,
    rack: &Rack,
    enforce_nic: bool,
    limits: SearchLimits,
) -> Result<Placement, PlacementError> {
    let net = Net::new(ig);
    let first = place_packing(ig, rack, enforce_nic)?;
    let mut best = search_from(&net, rack, enforce_nic, limits, first);
    // Restarts (ours): on small iGraphs, also from the depth-first packing rooted at each
    // instance; the lowest cut wins (ties: the earliest start).
    if net.n <= limits.restart_below {
        let mut best_cut = net.cut(&best.server_of);
        for root in 0..net.n {
            let order = dfs_order(ig, Some(root));
            let Ok(start) = pack_in_order(ig, rack, enforce_nic, &order) else { continue };
            let p = search_from(&net, rack, enforce_nic, limits, start);
            let c = net.cut(&p.server_of);
            if c < best_cut - net.eps() {
                (best, best_cut) = (p, c);
            }
        }
    }
    Ok(best)
}

fn search_from(
    net: &Net,
    rack: &Rack,
    enforce_nic: bool,
    limits: SearchLimits,
    start: Placement,
) -> Placement {
    let eps = net.eps();
    let mut st = Search::new(net, rack, enforce_nic, start.server_of);
    let none_locked = vec![false; net.n];
    // The paper's greedy descent.
    while let Some(sw) = st.best(&none_locked, true, eps) {
        st.apply(sw);
    }
    for _ in 0..limits.kl_passes {
        let mut locked = vec![false; net.n];
        let mut done: Vec<(Swap, usize)> = vec![];
        let (mut sum, mut best_sum, mut best_len) = (0.0, 0.0, 0);
        while done.len() - best_len < limits.pass_patience {
            let Some(sw) = st.best(&locked, false, eps) else { break };
            let from = st.server_of[sw.x];
            st.apply(sw);
            locked[sw.x] = true;
            if let Some(y) = sw.y {
                locked[y] = true;
            }
            done.push((sw, from));
            sum += sw.gain;
            if sum > best_sum + eps {
                best_sum = sum;
                best_len = done.len();
            }
        }
        while done.len() > best_len {
            let (sw, from) = done.pop().expect("invariant: longer than best_len");
            st.undo(sw, from);
        }
        if best_len == 0 {
            break;
        }
        // A pass may leave greedy improvements on the table; take them.
        while let Some(sw) = st.best(&none_locked, true, eps) {
            st.apply(sw);
        }
    }
    Placement { server_of: st.server_of }
}

/// Incremental placement (section 5.1): "we consider all possible partitions where the new
/// instance may be placed, and choose the one that will incur the least cross-partition
/// traffic by simply enumerating all the neighboring instances of the new NF instance."
/// No existing instance moves ("we do not swap an existing NF instance with a new one").
///
/// `p` places every instance of `ig` but the last, which is the new one. Returns its server
/// (ties: the lowest index) and extends `p`.
pub fn place_incremental(
    ig: &IGraph,
    rack: &Rack,
    p: &mut Placement,
    enforce_nic: bool,
) -> Result<usize, PlacementError> {
    let new = ig.instances.len() - 1;
    assert_eq!(p.server_of.len(), new, "invariant: the placement lacks exactly the new instance");
    let net = Net::new(ig);
    let mut pull = vec![0.0; rack.servers];
    for &(y, w) in &net.und[new] {
        pull[p.server_of[y]] += w;
    }
    let mut server_of = p.server_of.clone();
    server_of.push(UNPLACED);
    let mut members = members_of(&server_of, rack.servers);
    let mut best: Option<usize> = None;
    for s in 0..rack.servers {
        if members[s].len() >= rack.nf_cores || best.is_some_and(|b| pull[b] >= pull[s]) {
            continue;
        }
        if enforce_nic {
            server_of[new] = s;
            members[s].push(new);
            let ok = nic_ok_around(&net, rack, &server_of, &members, new);
            members[s].pop();
            server_of[new] = UNPLACED;
            if !ok {
                continue;
            }
        }
        best = Some(s);
    }
    let s = best
        .ok_or_else(|| PlacementError::DoesNotFit { instance: ig.instances[new].name.clone() })?;
    p.server_of.push(s);
    Ok(s)
}

/// The minimum inter-server traffic over every valid placement, by enumeration
/// (`servers ^ instances` placements: for tests on tiny graphs only).
pub fn brute_force_min_cut(ig: &IGraph, rack: &Rack, enforce_nic: bool) -> Option<f64> {
    let net = Net::new(ig);
    let n = net.n;
    assert!((rack.servers as f64).powi(n as i32) <= 1e7, "brute force on {n} instances is too big");
    let mut server_of = vec![0usize; n];
    let mut best: Option<f64> = None;
    loop {
        let members = members_of(&server_of, rack.servers);
        let ok = members.iter().enumerate().all(|(s, m)| {
            m.len() <= rack.nf_cores && (!enforce_nic || nic_ok(&net, rack, &server_of, m, s))
        });
        if ok {
            let c = net.cut(&server_of);
            if best.is_none_or(|b| c < b) {
                best = Some(c);
            }
        }
        let mut d = 0;
        loop {
            if d == n {
                return best;
            }
            server_of[d] += 1;
            if server_of[d] < rack.servers {
                break;
            }
            server_of[d] = 0;
            d += 1;
        }
    }
}
