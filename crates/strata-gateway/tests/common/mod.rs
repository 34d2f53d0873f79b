//! What the gateway's client tests share: the scripts in `tests/clients/`, running a real
//! client program and reading the groups of checks it passed.

use std::path::PathBuf;
use std::process::Output;

/// A script in `tests/clients/`.
pub fn client_script(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "clients", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

/// Runs `program` with `env` added to its environment; panics with its output unless it
/// succeeds.
pub async fn run_client(program: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    let output = tokio::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program} (scripts/test.sh installs it): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    output
}

/// The `ok ...` lines a client script printed, after echoing its output.
pub fn passed_groups(output: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    (stdout.lines())
        .filter(|l| l.starts_with("ok "))
        .map(str::to_string)
        .collect()
}
