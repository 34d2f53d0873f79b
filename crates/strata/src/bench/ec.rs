//! `strata bench ec`: erasure coding speed on one core, per policy and per engine compiled in:
//! encoding parity, and decoding a stripe with one and with `parity` data units lost.
//!
//! Figures count the data bytes of the stripes processed per second (a stripe of RS(6,3) with
//! 1 MiB cells counts 6 MiB whether it is encoded or decoded). ISA-L's own `erasure_code_perf`
//! counts data and parity bytes together; multiply by (k+m)/k to compare.

use crate::output::{print_json, progress, table};
use anyhow::Context;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use strata_core::ByteSize;
use strata_ec::engine::{Engine, engines};
use strata_ec::{Coder, EcPolicy};

/// Options of `strata bench ec`.
#[derive(Debug, clap::Args)]
pub struct EcBenchArgs {
    /// Policies to measure (default: every built-in policy).
    #[arg(long = "policy", value_name = "POLICY")]
    policies: Vec<String>,
    /// Data bytes processed by each measurement.
    #[arg(long, default_value = "2GiB")]
    size: ByteSize,
    /// Data bytes of the distinct stripes cycled through. The default is far beyond the CPU's
    /// caches, as fresh data from the network is; a few MiB measures the codec in cache.
    #[arg(long, default_value = "256MiB")]
    working_set: ByteSize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// What one measurement does to a stripe.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Encode,
    /// Rebuild this many data units from the others.
    Decode(usize),
}

/// The figures of one policy with one engine, in data GB/s (10^9 bytes).
struct Figures {
    policy: String,
    engine: &'static str,
    encode: f64,
    decode_one: f64,
    decode_all_parity: f64,
}

/// A stripe of one policy with pseudo-random data and its parity.
struct Stripe {
    units: Vec<Vec<u8>>,
}

impl Stripe {
    fn new(coder: &Coder, seed: u64) -> anyhow::Result<Stripe> {
        let policy = coder.policy();
        let cell = policy.cell;
        let mut units: Vec<Vec<u8>> = (0..policy.units())
            .map(|u| {
                (0..cell)
                    .map(|i| {
                        (i as u64 ^ seed)
                            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                            .rotate_left(u as u32 + 8) as u8
                    })
                    .collect()
            })
            .collect();
        let (data, parity) = units.split_at_mut(policy.data);
        let data: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let mut parity: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
        coder.encode(&data, &mut parity)?;
        Ok(Stripe { units })
    }
}

/// Does `operation` once to one stripe.
fn apply(coder: &Coder, stripe: &mut Stripe, operation: Operation) -> anyhow::Result<()> {
    let policy = coder.policy();
    match operation {
        Operation::Encode => {
            let (data, parity) = stripe.units.split_at_mut(policy.data);
            let data: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
            let mut parity: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
            coder.encode(&data, &mut parity)?;
        }
        Operation::Decode(lost) => {
            let (gone, kept) = stripe.units.split_at_mut(lost);
            let mut available: Vec<Option<&[u8]>> = vec![None; lost];
            available.extend(kept.iter().map(|u| Some(u.as_slice())));
            let wanted: Vec<usize> = (0..lost).collect();
            let mut outputs: Vec<&mut [u8]> = gone.iter_mut().map(Vec::as_mut_slice).collect();
            coder.reconstruct(&available, &wanted, &mut outputs)?;
        }
    }
    Ok(())
}

/// Runs `operation` over the stripes in turn until `total` data bytes are processed; returns
/// data GB/s.
fn measure(
    coder: &Coder,
    stripes: &mut [Stripe],
    operation: Operation,
    total: u64,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<f64> {
    let policy = coder.policy();
    let stripe_bytes = policy.data as u64 * u64::from(policy.cell);
    let rounds = total.div_ceil(stripe_bytes).max(1);
    let started = Instant::now();
    let count = stripes.len() as u64;
    for round in 0..rounds {
        apply(coder, &mut stripes[(round % count) as usize], operation)?;
        bar.inc(stripe_bytes);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(if seconds > 0.0 {
        (rounds * stripe_bytes) as f64 / seconds / 1e9
    } else {
        0.0
    })
}

/// A figure for a wrong result is useless: the measured operations must give back what was
/// wiped (parity for encode, data units for decode).
fn check(coder: &Coder, stripe: &Stripe) -> anyhow::Result<()> {
    let policy = coder.policy();
    let parity: Vec<usize> = (policy.data..policy.units()).collect();
    let lost: Vec<usize> = (0..policy.parity).collect();
    for (operation, wiped) in [
        (Operation::Encode, parity),
        (Operation::Decode(policy.parity), lost),
    ] {
        let mut copy = Stripe {
            units: stripe.units.clone(),
        };
        for u in &wiped {
            copy.units[*u].fill(0);
        }
        apply(coder, &mut copy, operation)?;
        anyhow::ensure!(
            copy.units == stripe.units,
            "{policy} with {}: {operation:?} did not restore the wiped units",
            coder.engine_name()
        );
    }
    Ok(())
}

fn figures(
    policy: &EcPolicy,
    engine: Arc<dyn Engine>,
    total: u64,
    working_set: u64,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Figures> {
    let coder = Coder::with_engine(*policy, engine);
    let stripe_bytes = policy.data as u64 * u64::from(policy.cell);
    let count = working_set.div_ceil(stripe_bytes).max(1);
    let mut stripes = (0..count)
        .map(|seed| Stripe::new(&coder, seed))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let encode = measure(&coder, &mut stripes, Operation::Encode, total, bar)?;
    let decode_one = measure(&coder, &mut stripes, Operation::Decode(1), total, bar)?;
    let decode_all_parity = measure(
        &coder,
        &mut stripes,
        Operation::Decode(policy.parity),
        total,
        bar,
    )?;
    check(&coder, &stripes[0])?;
    Ok(Figures {
        policy: policy.name(),
        engine: coder.engine_name(),
        encode,
        decode_one,
        decode_all_parity,
    })
}

/// Runs `strata bench ec`.
pub async fn run(args: EcBenchArgs) -> anyhow::Result<ExitCode> {
    let policies = if args.policies.is_empty() {
        EcPolicy::built_in()
    } else {
        args.policies
            .iter()
            .map(|p| EcPolicy::parse(p).with_context(|| format!("policy {p}")))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let total = args.size.bytes();
    let working_set = args.working_set.bytes();
    let json = args.json;
    let results = tokio::task::spawn_blocking(move || {
        let engines = engines();
        let bar = progress(
            Some(total * 3 * (policies.len() * engines.len()) as u64),
            "ec",
        );
        let mut results = Vec::new();
        for policy in &policies {
            for engine in &engines {
                bar.set_message(format!("{policy} {}", engine.name()));
                results.push(figures(policy, engine.clone(), total, working_set, &bar)?);
            }
        }
        bar.finish_and_clear();
        Ok::<_, anyhow::Error>(results)
    })
    .await
    .context("the benchmark thread failed")??;
    if json {
        let list = results
            .iter()
            .map(|f| {
                json!({"policy": f.policy, "engine": f.engine, "encode_gb_per_s": f.encode,
                    "decode_one_lost_gb_per_s": f.decode_one,
                    "decode_parity_lost_gb_per_s": f.decode_all_parity})
            })
            .collect();
        print_json(&serde_json::Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&[
        "POLICY",
        "ENGINE",
        "ENCODE GB/s",
        "DECODE 1 LOST GB/s",
        "DECODE m LOST GB/s",
    ]);
    for f in &results {
        t.add_row(vec![
            f.policy.clone(),
            f.engine.to_string(),
            format!("{:.2}", f.encode),
            format!("{:.2}", f.decode_one),
            format!("{:.2}", f.decode_all_parity),
        ]);
    }
    outln!("{t}");
    outln!(
        "One core; data bytes of the stripes processed per second (1 GB = 10^9 bytes), over {} of stripes.",
        strata_core::size::human(working_set)
    );
    Ok(ExitCode::SUCCESS)
}
