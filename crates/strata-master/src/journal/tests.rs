//! The journal survives restarts: replay, checkpoints and torn tails.

use super::*;
use strata_proto::journal::{CreateFile, Mkdir};

fn mkdir(path: &str) -> Op {
    Op::Mkdir(Mkdir {
        path: path.into(),
        owner: "u".into(),
        mode: 0o755,
        time: 1,
        create_parents: true,
        ..Default::default()
    })
}

#[tokio::test]
async fn acknowledged_changes_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (journal, _) = Journal::open(dir.path(), 1000).unwrap();
        for i in 0..50 {
            journal.submit(mkdir(&format!("/a/{i}"))).await.unwrap();
        }
        // Not shut down cleanly: no final snapshot.
    }
    let (journal, ns) = Journal::open(dir.path(), 1000).unwrap();
    assert_eq!(ns.read().directory_count(), 52);
    assert_eq!(ns.read().last_txid(), 50);
    journal.submit(mkdir("/b")).await.unwrap();
    assert_eq!(ns.read().last_txid(), 51);
}

#[tokio::test]
async fn checkpoints_roll_segments_and_replay_from_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (journal, _) = Journal::open(dir.path(), 10).unwrap();
        let mut waits = Vec::new();
        for i in 0..45 {
            waits.push(journal.submit(mkdir(&format!("/x/{i}"))));
        }
        for w in futures_join(waits).await {
            w.unwrap();
        }
        journal
            .submit(Op::CreateFile(CreateFile {
                path: "/x/file".into(),
                replication: 1,
                block_size: 4096,
                client_name: "c".into(),
                ..Default::default()
            }))
            .await
            .unwrap();
        journal.shutdown().await;
    }
    assert!(snapshot::list_snapshots(dir.path()).unwrap().len() <= 2);
    let (_, ns) = Journal::open(dir.path(), 10).unwrap();
    let ns = ns.read();
    assert_eq!(ns.directory_count(), 47);
    assert_eq!(ns.file_count(), 1);
    assert_eq!(ns.open_files().len(), 1);
}

#[tokio::test]
async fn torn_tail_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (journal, _) = Journal::open(dir.path(), 1000).unwrap();
        for i in 0..5 {
            journal.submit(mkdir(&format!("/t/{i}"))).await.unwrap();
        }
    }
    let (_, path) = log::list_segments(dir.path()).unwrap().pop().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&path, bytes).unwrap();
    let (journal, ns) = Journal::open(dir.path(), 1000).unwrap();
    assert_eq!(ns.read().last_txid(), 5);
    journal.submit(mkdir("/t/after")).await.unwrap();
    drop(journal);
    let (_, ns) = Journal::open(dir.path(), 1000).unwrap();
    assert_eq!(ns.read().last_txid(), 6);
}

async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(futures.len());
    let handles: Vec<_> = futures.into_iter().collect();
    for f in handles {
        out.push(f.await);
    }
    out
}
