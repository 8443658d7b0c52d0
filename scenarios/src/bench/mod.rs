//! Reference benchmarks that compare nftwin's engine with other simulators.

pub mod star;
