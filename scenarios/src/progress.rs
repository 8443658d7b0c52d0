//! Progress bars on stderr for long runs (hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim_core::{Progress, Simulation, Time};

/// A bar over simulated time from zero to `until`, updated from the engine's progress hook.
/// Returns the bar so the caller can finish it.
pub fn attach_sim_bar<M: 'static>(
    sim: &mut Simulation<M>,
    until: Time,
    label: &str,
) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(until.as_nanos() / 1_000),
        ProgressDrawTarget::stderr_with_hz(4),
    );
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} sim-us {msg} ({elapsed})")
            .expect("invariant: a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    let b = bar.clone();
    sim.set_progress(1 << 18, move |p: Progress| {
        b.set_position((p.now.as_nanos() / 1_000).min(until.as_nanos() / 1_000));
        b.set_message(format!("{} events", p.events));
    });
    bar
}
