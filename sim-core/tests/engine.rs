//! The engine against closed-form expectations: link timing, the queue bound, a downed link,
//! random loss, timers and run control. A tiny model: a `Node` that, told from outside, offers
//! packets to its link and records what the link said, and records every packet it receives.

use sim_core::{
    tx_time, Bps, Ctx, Dur, Entity, EntityId, LinkId, LinkParams, Offer, Origin, Simulation,
    StopReason, Time, TimerHandle,
};

#[derive(Clone, Debug, PartialEq)]
enum Msg {
    /// From outside: offer packet `id` of `bytes` on the node's link.
    Offer {
        id: u32,
        bytes: u32,
    },
    /// From outside: take the node's link down or up.
    SetLink(bool),
    /// A data packet.
    Pkt(u32),
    /// From outside: arm a timer at `at` carrying `tag`; `cancel` the previous one first.
    Arm {
        at: Time,
        tag: u32,
        cancel_previous: bool,
    },
    Fired(u32),
}

#[derive(Default)]
struct Node {
    link: Option<LinkId>,
    /// (id, what the link said) for each offer.
    offers: Vec<(u32, &'static str)>,
    /// (arrival time, id) for each packet received.
    received: Vec<(Time, u32)>,
    lost_on_down: Vec<u32>,
    fired: Vec<(Time, u32)>,
    last_timer: Option<TimerHandle>,
    cancel_results: Vec<bool>,
}

impl Entity<Msg> for Node {
    fn on_event(&mut self, ctx: &mut Ctx<'_, Msg>, origin: Origin, msg: Msg) {
        match msg {
            Msg::Offer { id, bytes } => {
                let what = match ctx.transmit(self.link.unwrap(), Msg::Pkt(id), bytes) {
                    Offer::Queued { .. } => "queued",
                    Offer::QueueFull(_) => "full",
                    Offer::Lost(_) => "lost",
                    Offer::Down(_) => "down",
                };
                self.offers.push((id, what));
            }
            Msg::SetLink(up) => {
                for m in ctx.set_link_up(self.link.unwrap(), up) {
                    if let Msg::Pkt(id) = m {
                        self.lost_on_down.push(id);
                    }
                }
            }
            Msg::Pkt(id) => {
                assert!(matches!(origin, Origin::Link(_)));
                self.received.push((ctx.now(), id));
            }
            Msg::Arm { at, tag, cancel_previous } => {
                if cancel_previous {
                    if let Some(h) = self.last_timer {
                        self.cancel_results.push(ctx.cancel_timer(h));
                    }
                }
                self.last_timer = Some(ctx.set_timer(at, Msg::Fired(tag)));
            }
            Msg::Fired(tag) => {
                assert!(matches!(origin, Origin::Timer(_)));
                self.fired.push((ctx.now(), tag));
            }
        }
    }
}

const GBPS10: Bps = Bps(10_000_000_000);

/// Two nodes, `a -> b`, with link parameters `p`.
fn pair(p: LinkParams) -> (Simulation<Msg>, EntityId, EntityId) {
    let mut sim = Simulation::new(1);
    let a = sim.add_entity(Node::default());
    let b = sim.add_entity(Node::default());
    let l = sim.add_link("a-b", a, b, p);
    sim.entity_mut::<Node>(a).unwrap().link = Some(l);
    (sim, a, b)
}

fn t(ns: u64) -> Time {
    Time::from_nanos(ns)
}

fn node(sim: &Simulation<Msg>, id: EntityId) -> &Node {
    sim.entity::<Node>(id).unwrap()
}

#[test]
fn idle_link_delivers_after_serialization_plus_propagation() {
    let (mut sim, a, b) = pair(LinkParams::new(Bps(1_000_000_000), Dur::from_micros(5)));
    sim.schedule(t(1_000), a, Msg::Offer { id: 1, bytes: 1000 });
    sim.run_to_end();
    // 8000 bits at 1 Gbps = 8 us, plus 5 us.
    assert_eq!(node(&sim, b).received, vec![(t(1_000 + 8_000 + 5_000), 1)]);
}

#[test]
fn back_to_back_packets_do_not_accumulate_rounding() {
    let (mut sim, a, b) = pair(LinkParams::new(GBPS10, Dur::from_micros(1)));
    for id in 1..=5 {
        sim.schedule(t(0), a, Msg::Offer { id, bytes: 1502 });
    }
    sim.run_to_end();
    let got: Vec<u64> = node(&sim, b).received.iter().map(|r| r.0.as_nanos()).collect();
    // The k-th ends at ceil(k * 1201.6) ns: 1202, 2404 (2403.2), 3605 (3604.8), 4807, 6008.
    assert_eq!(got, vec![1202 + 1000, 2404 + 1000, 3605 + 1000, 4807 + 1000, 6008 + 1000]);
    assert_eq!(tx_time(5 * 12_016, GBPS10).as_nanos(), 6008);
}

#[test]
fn the_packet_in_transmission_does_not_count_against_the_bound() {
    let (mut sim, a, b) = pair(LinkParams::new(GBPS10, Dur::ZERO).max_waiting_pkts(2));
    for id in 1..=4 {
        sim.schedule(t(0), a, Msg::Offer { id, bytes: 1500 });
    }
    // Once packet 1 has left and packet 2 is in transmission, one place is free again.
    sim.schedule(t(1_300), a, Msg::Offer { id: 5, bytes: 1500 });
    sim.schedule(t(1_300), a, Msg::Offer { id: 6, bytes: 1500 });
    sim.run_to_end();
    let offers = &node(&sim, a).offers;
    assert_eq!(
        offers,
        &vec![(1, "queued"), (2, "queued"), (3, "queued"), (4, "full"), (5, "queued"), (6, "full")]
    );
    let ids: Vec<u32> = node(&sim, b).received.iter().map(|r| r.1).collect();
    assert_eq!(ids, vec![1, 2, 3, 5]);
    assert_eq!(sim.link(LinkId(0)).stats().max_waiting_pkts, 2);
    assert_eq!(sim.link(LinkId(0)).stats().dropped_queue_full, 2);
}

#[test]
fn the_byte_bound_admits_exactly_up_to_the_limit() {
    let (mut sim, a, _) = pair(LinkParams::new(GBPS10, Dur::ZERO).max_waiting_bytes(3000));
    // Packet 1 transmits; 2 and 3 wait with 3000 bytes; one more byte does not fit.
    for (id, bytes) in [(1, 1500), (2, 1500), (3, 1500), (4, 1)] {
        sim.schedule(t(0), a, Msg::Offer { id, bytes });
    }
    sim.run_to_end();
    assert_eq!(
        node(&sim, a).offers,
        vec![(1, "queued"), (2, "queued"), (3, "queued"), (4, "full")]
    );
    assert_eq!(sim.link(LinkId(0)).stats().max_waiting_bytes, 3000);
}

#[test]
fn a_downed_link_loses_everything_on_it_and_refuses_until_up() {
    // 1000 B at 1 Gbps = 8 us each; 10 us propagation.
    let (mut sim, a, b) = pair(LinkParams::new(Bps(1_000_000_000), Dur::from_micros(10)));
    for id in 1..=3 {
        sim.schedule(t(0), a, Msg::Offer { id, bytes: 1000 });
    }
    // At 12 us: packet 1 is propagating (arrives at 18 us), 2 is transmitting, 3 waits.
    sim.schedule(t(12_000), a, Msg::SetLink(false));
    sim.schedule(t(13_000), a, Msg::Offer { id: 4, bytes: 1000 });
    sim.schedule(t(20_000), a, Msg::SetLink(true));
    sim.schedule(t(21_000), a, Msg::Offer { id: 5, bytes: 1000 });
    sim.run_to_end();
    assert_eq!(node(&sim, a).lost_on_down, vec![1, 2, 3]);
    assert!(node(&sim, a).offers.contains(&(4, "down")));
    // Up again, empty and idle: packet 5 takes exactly tx + prop.
    assert_eq!(node(&sim, b).received, vec![(t(21_000 + 8_000 + 10_000), 5)]);
    let st = sim.link(LinkId(0)).stats();
    assert_eq!((st.lost_on_down, st.dropped_down, st.delivered_pkts), (3, 1, 1));
    // The head event scheduled for packet 1 was recognised as stale.
    assert_eq!(sim.stats().stale_link_events, 1);
}

#[test]
fn random_loss_is_counted_and_still_uses_the_wire() {
    let (mut sim, a, b) = pair(LinkParams::new(GBPS10, Dur::ZERO).loss(0.25));
    let n = 20_000;
    for id in 0..n {
        sim.schedule(t(0), a, Msg::Offer { id, bytes: 125 }); // 100 ns each
    }
    sim.run_to_end();
    let lost = node(&sim, a).offers.iter().filter(|o| o.1 == "lost").count();
    let got = node(&sim, b).received.len();
    assert_eq!(lost + got, n as usize);
    // Binomial(20000, 0.25): sd = 61; allow 5 sd.
    assert!((lost as i64 - 5_000).abs() < 306, "{lost} lost");
    // Lost packets occupied the transmitter: the last delivery is near n * 100 ns, not
    // (n - lost) * 100 ns.
    let last = node(&sim, b).received.last().unwrap().0.as_nanos();
    assert!(last > (n as u64 - 10) * 100, "{last}");
}

#[test]
fn a_cancelled_timer_never_fires_and_a_fired_one_cannot_be_cancelled() {
    let mut sim = Simulation::new(1);
    let a = sim.add_entity(Node::default());
    sim.schedule(t(0), a, Msg::Arm { at: t(100), tag: 1, cancel_previous: false });
    sim.schedule(t(10), a, Msg::Arm { at: t(50), tag: 2, cancel_previous: true }); // cancels 1
    sim.schedule(t(60), a, Msg::Arm { at: t(70), tag: 3, cancel_previous: true }); // 2 fired
    sim.run_to_end();
    let n = node(&sim, a);
    assert_eq!(n.fired, vec![(t(50), 2), (t(70), 3)]);
    assert_eq!(n.cancel_results, vec![true, false]);
    assert_eq!(sim.stats().stale_timers, 1);
}

#[test]
fn run_control_stops_at_a_time_at_a_predicate_and_at_the_end() {
    let (mut sim, a, b) = pair(LinkParams::new(Bps(1_000_000_000), Dur::ZERO));
    for id in 0..10 {
        sim.schedule(t(id as u64 * 1_000_000), a, Msg::Offer { id, bytes: 100 });
    }
    assert_eq!(sim.run_until(t(3_500_000)), StopReason::TimeLimit);
    assert_eq!(sim.now(), t(3_500_000));
    assert_eq!(node(&sim, b).received.len(), 4);
    let r = sim.run_while_not(Time::MAX, |s| s.entity::<Node>(b).unwrap().received.len() == 7);
    assert_eq!(r, StopReason::Predicate);
    assert_eq!(node(&sim, b).received.len(), 7);
    assert_eq!(sim.run_to_end(), StopReason::Exhausted);
    assert_eq!(node(&sim, b).received.len(), 10);
}

#[test]
fn simultaneous_events_run_in_the_order_they_were_scheduled() {
    let (mut sim, a, b) = pair(LinkParams::new(GBPS10, Dur::ZERO));
    // Three offers at one instant, scheduled in a fixed order: FIFO at the link too.
    for id in [7, 3, 5] {
        sim.schedule(t(0), a, Msg::Offer { id, bytes: 100 });
    }
    sim.run_to_end();
    let ids: Vec<u32> = node(&sim, b).received.iter().map(|r| r.1).collect();
    assert_eq!(ids, vec![7, 3, 5]);
}
