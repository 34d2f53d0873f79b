//! End-to-end tests with real processes: the `strata` binary as master, workers and CLI, with
//! workers and masters killed with SIGKILL, block files damaged on disk, and garbage sent to
//! every port.

mod cache;
mod cli;
mod erasure;
mod failures;
mod fuzz;
mod gateway;
mod harness;
mod hflush;
mod observability;
mod placement;
mod tables;
