//! The block store against real files: writing, appending mid-chunk, recovery, reloading.

use super::*;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use strata_core::ByteSize;
use strata_core::checksum::{chunk_checksums, crc32c};
use strata_core::tier::{Eviction, TierDir, TieringConfig};

const CHUNK: u32 = 512;

fn store(dir: &Path) -> BlockStore {
    let tiers = [TierConfig {
        medium: Medium::Hdd,
        dirs: vec![TierDir {
            path: dir.to_path_buf(),
            capacity: ByteSize(0),
        }],
    }];
    BlockStore::open(&tiers, CHUNK, false).unwrap()
}

fn write(writer: &mut ReplicaWriter, offset: u64, data: &[u8]) {
    let crcs = chunk_checksums(offset, data, CHUNK);
    writer.write_packet(offset, data, &crcs).unwrap();
}

fn read_all(store: &BlockStore, id: BlockId) -> Vec<u8> {
    let reader = store.open_reader(id, 0).unwrap();
    let mut buf = Vec::new();
    reader
        .read_verified(0, reader.info().length as usize, &mut buf)
        .unwrap();
    buf
}

#[test]
fn write_finalize_read_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let data: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
    let mut w = s
        .open_writer(BlockId(1), 10, OpenMode::Create, 0, 0)
        .unwrap();
    write(&mut w, 0, &data[..700]);
    write(&mut w, 700, &data[700..]);
    let reported = s.finalize(w).unwrap();
    assert_eq!(reported.length, 2000);
    assert_eq!(read_all(&s, BlockId(1)), data);
    assert_eq!(
        s.open_reader(BlockId(1), 0).unwrap().block_crc().unwrap(),
        crc32c(&data)
    );
    drop(s);
    let again = store(dir.path());
    let info = again.info(BlockId(1)).unwrap();
    assert_eq!(
        (info.generation, info.length, info.state),
        (10, 2000, ReplicaState::Finalized)
    );
    assert_eq!(read_all(&again, BlockId(1)), data);
}

#[test]
fn append_continues_inside_a_partial_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut w = s
        .open_writer(BlockId(2), 1, OpenMode::Create, 0, 0)
        .unwrap();
    write(&mut w, 0, &[7u8; 300]);
    s.finalize(w).unwrap();
    let mut w = s
        .open_writer(BlockId(2), 2, OpenMode::Append, 300, 0)
        .unwrap();
    write(&mut w, 300, &[9u8; 1000]);
    s.finalize(w).unwrap();
    let mut expected = vec![7u8; 300];
    expected.extend_from_slice(&[9u8; 1000]);
    assert_eq!(read_all(&s, BlockId(2)), expected);
    assert_eq!(s.info(BlockId(2)).unwrap().generation, 2);
}

#[test]
fn recovery_truncates_and_stops_the_old_writer() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut old = s
        .open_writer(BlockId(3), 1, OpenMode::Create, 0, 0)
        .unwrap();
    write(&mut old, 0, &[1u8; 1500]);
    let reported = s.recover_to(BlockId(3), 5, 1000).unwrap();
    assert_eq!((reported.length, reported.generation), (1000, 5));
    let err = old.write_packet(1500, &[1u8; 10], &chunk_checksums(1500, &[1u8; 10], CHUNK));
    assert!(err.is_err());
    assert_eq!(read_all(&s, BlockId(3)), vec![1u8; 1000]);
    assert!(
        s.open_writer(BlockId(3), 4, OpenMode::Recover, 0, 0)
            .is_err()
    );
}

#[test]
fn pipeline_recovery_reopens_at_the_acknowledged_length() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut w = s
        .open_writer(BlockId(4), 1, OpenMode::Create, 0, 0)
        .unwrap();
    write(&mut w, 0, &[3u8; 1100]);
    let mut w2 = s
        .open_writer(BlockId(4), 2, OpenMode::Recover, 800, 0)
        .unwrap();
    assert!(
        w.write_packet(1100, &[0u8; 4], &chunk_checksums(1100, &[0u8; 4], CHUNK))
            .is_err()
    );
    write(&mut w2, 800, &[4u8; 200]);
    s.finalize(w2).unwrap();
    let mut expected = vec![3u8; 800];
    expected.extend_from_slice(&[4u8; 200]);
    assert_eq!(read_all(&s, BlockId(4)), expected);
}

#[test]
fn unfinished_replicas_reload_with_their_checked_prefix() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store(dir.path());
        let mut w = s
            .open_writer(BlockId(5), 1, OpenMode::Create, 0, 0)
            .unwrap();
        write(&mut w, 0, &[5u8; 1300]);
        drop(w);
    }
    // A crash after the data of the next packet reached the file but before its checksums.
    let data_path = dir.path().join("current/rbw/blk_5");
    let mut bytes = std::fs::read(&data_path).unwrap();
    bytes.extend_from_slice(&[6u8; 900]);
    std::fs::write(&data_path, bytes).unwrap();
    let s = store(dir.path());
    let info = s.info(BlockId(5)).unwrap();
    assert_eq!(info.state, ReplicaState::BeingWritten);
    assert_eq!(
        info.length, 1024,
        "the last partial chunk's checksum no longer matches"
    );
    assert_eq!(read_all(&s, BlockId(5)), vec![5u8; 1024]);
}

#[test]
fn damaged_finalized_replica_is_dropped_at_load_and_delete_respects_generation() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store(dir.path());
        for id in [6, 7] {
            let mut w = s
                .open_writer(BlockId(id), 3, OpenMode::Create, 0, 0)
                .unwrap();
            write(&mut w, 0, &[1u8; 600]);
            s.finalize(w).unwrap();
        }
        assert!(s.delete(BlockId(7), 2).is_none());
        assert!(s.delete(BlockId(7), 3).is_some());
    }
    let meta = dir.path().join("current/finalized/06/blk_6_3.meta");
    let len = std::fs::metadata(&meta).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&meta)
        .unwrap()
        .set_len(len - 4)
        .unwrap();
    let s = store(dir.path());
    assert!(s.info(BlockId(6)).is_none());
    assert!(s.is_empty());
}

proptest! {
    #[test]
    fn any_packet_split_reads_back_verified(
        data in proptest::collection::vec(any::<u8>(), 0..5000),
        cuts in proptest::collection::vec(0usize..5000, 0..6),
        append_at in proptest::option::of(0usize..5000),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let mut bounds: Vec<usize> = cuts.into_iter().filter(|c| *c < data.len()).collect();
        if let Some(a) = append_at.filter(|a| *a < data.len()) { bounds.push(a) }
        bounds.push(0);
        bounds.push(data.len());
        bounds.sort();
        bounds.dedup();
        let mut w = s.open_writer(BlockId(9), 1, OpenMode::Create, 0, 0).unwrap();
        let mut generation = 1;
        for pair in bounds.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if Some(a) == append_at && a > 0 {
                s.finalize(w).unwrap();
                generation += 1;
                w = s.open_writer(BlockId(9), generation, OpenMode::Append, a as u64, 0).unwrap();
            }
            write(&mut w, a as u64, &data[a..b]);
        }
        s.finalize(w).unwrap();
        prop_assert_eq!(read_all(&s, BlockId(9)), data.clone());
        let crc = s.open_reader(BlockId(9), 0).unwrap().block_crc().unwrap();
        prop_assert_eq!(crc, if data.is_empty() { 0 } else { crc32c(&data) });
    }
}

#[test]
fn a_failed_copy_leaves_nothing_that_blocks_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut w = s
        .open_writer(BlockId(12), 7, OpenMode::Create, 0, 0)
        .unwrap();
    write(&mut w, 0, &[1u8; 700]);
    drop(w);
    // The same generation arrives again (a re-scheduled copy): the abandoned attempt gives way.
    let mut again = s
        .open_writer(BlockId(12), 7, OpenMode::Create, 0, 0)
        .unwrap();
    write(&mut again, 0, &[2u8; 900]);
    s.finalize(again).unwrap();
    assert_eq!(read_all(&s, BlockId(12)), vec![2u8; 900]);
    assert!(
        s.open_writer(BlockId(12), 7, OpenMode::Create, 0, 0)
            .is_err(),
        "a finished replica stays"
    );
    let mut partial = s
        .open_writer(BlockId(13), 3, OpenMode::Create, 0, 0)
        .unwrap();
    write(&mut partial, 0, &[3u8; 10]);
    s.discard_unfinished(BlockId(13), 3);
    assert!(s.info(BlockId(13)).is_some(), "not while a writer holds it");
    drop(partial);
    s.discard_unfinished(BlockId(13), 3);
    assert!(s.info(BlockId(13)).is_none());
}

/// A MEM tier of `mem_capacity` bytes over an unbounded HDD tier, in `dir`.
fn mem_and_hdd(dir: &Path, mem_capacity: u64) -> (PathBuf, PathBuf, [TierConfig; 2]) {
    let (mem, hdd) = (dir.join("mem"), dir.join("hdd"));
    let tiers = [
        tier(Medium::Mem, &mem, mem_capacity),
        tier(Medium::Hdd, &hdd, 0),
    ];
    (mem, hdd, tiers)
}

fn tier(medium: Medium, path: &Path, capacity: u64) -> TierConfig {
    TierConfig {
        medium,
        dirs: vec![TierDir {
            path: path.to_path_buf(),
            capacity: ByteSize(capacity),
        }],
    }
}

#[test]
fn new_replicas_go_to_the_fastest_tier_with_room_and_reload_there() {
    let dir = tempfile::tempdir().unwrap();
    let (mem, hdd, tiers) = mem_and_hdd(dir.path(), 3000);
    let s = BlockStore::open(&tiers, CHUNK, false).unwrap();
    let data: Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
    for id in [1, 2] {
        let mut w = s
            .open_writer(BlockId(id), 1, OpenMode::Create, 0, 2000)
            .unwrap();
        write(&mut w, 0, &data);
        s.finalize(w).unwrap();
    }
    // The first fits in MEM's 3000 bytes; the second does not any more.
    assert_eq!(s.info(BlockId(1)).unwrap().volume, 0);
    assert_eq!(s.info(BlockId(2)).unwrap().volume, 1);
    assert!(mem.join("current/finalized/01/blk_1").exists());
    assert!(hdd.join("current/finalized/02/blk_2").exists());
    let report = s.storage();
    let media: Vec<&str> = report.tiers.iter().map(|t| t.medium.as_str()).collect();
    assert_eq!(media, ["MEM", "HDD"]);
    assert_eq!(report.tiers[0].capacity, 3000);
    assert_eq!(report.tiers[0].used, 2000);
    assert_eq!(report.tiers[0].remaining, 1000);
    assert_eq!(report.tiers[1].used, 2000);
    assert_eq!(report.used, 4000);
    drop(s);

    let again = BlockStore::open(&tiers, CHUNK, false).unwrap();
    assert_eq!(again.info(BlockId(1)).unwrap().volume, 0);
    assert_eq!(again.info(BlockId(2)).unwrap().volume, 1);
    assert_eq!(read_all(&again, BlockId(2)), data);
    assert_eq!(again.storage().tiers[0].used, 2000);
    // Deleting frees the tier it was in.
    again.delete(BlockId(1), 1).unwrap();
    assert_eq!(again.storage().tiers[0].used, 0);
    assert!(!mem.join("current/finalized/01/blk_1").exists());
}

#[test]
fn a_replica_no_tier_has_room_for_is_refused_with_no_space() {
    let dir = tempfile::tempdir().unwrap();
    let mem = dir.path().join("mem");
    let s = BlockStore::open(&[tier(Medium::Mem, &mem, 1000)], CHUNK, false).unwrap();
    let refused = s.open_writer(BlockId(1), 1, OpenMode::Create, 0, 2000);
    match refused {
        Err(Error::NoSpace { reason }) => {
            assert!(
                reason.contains("MEM") && reason.contains("1000 bytes free"),
                "{reason}"
            )
        }
        other => panic!("expected no space, got {:?}", other.map(|_| ())),
    }
    assert!(s.info(BlockId(1)).is_none());
    assert!(
        s.open_writer(BlockId(1), 1, OpenMode::Create, 0, 1000)
            .is_ok()
    );
}

fn put(s: &BlockStore, id: u64, data: &[u8]) {
    let mut w = s
        .open_writer(BlockId(id), 1, OpenMode::Create, 0, data.len() as u64)
        .unwrap();
    write(&mut w, 0, data);
    s.finalize(w).unwrap();
}

/// The tier of each replica, checked against the volume holding it.
fn media(s: &BlockStore, ids: &[u64]) -> Vec<Medium> {
    let volumes = [Medium::Mem, Medium::Hdd];
    ids.iter()
        .map(|id| {
            let info = s.info(BlockId(*id)).unwrap();
            assert_eq!(info.medium, volumes[info.volume]);
            info.medium
        })
        .collect()
}

/// Ids and tiers of replicas as reported after a move.
fn reported_media(moves: &TierMoves) -> Vec<(u64, rpc::StorageMedium)> {
    let mut moved: Vec<_> = moves.moved.iter().map(|r| (r.id, r.medium())).collect();
    moved.sort_by_key(|(id, _)| *id);
    moved
}

#[test]
fn a_full_tier_moves_its_least_recently_used_replicas_down_and_hot_ones_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mem, hdd, tiers) = mem_and_hdd(dir.path(), 4000);
    let s = BlockStore::open(&tiers, CHUNK, false).unwrap();
    let settings = TieringConfig {
        high_watermark: 0.75,
        low_watermark: 0.5,
        promote_after_reads: 2,
        ..TieringConfig::default()
    };
    let blocks: Vec<Vec<u8>> = (1..=4u8).map(|b| vec![b; 1000]).collect();
    for id in 1..=3 {
        put(&s, id, &blocks[id as usize - 1]);
    }
    // At the high watermark, not past it: nothing moves.
    assert_eq!(s.rebalance_tiers(&settings), TierMoves::default());
    s.note_read(BlockId(1));
    put(&s, 4, &blocks[3]);
    // 4000 bytes in MEM: the two least recently used go down to HDD, leaving 2000.
    let moves = s.rebalance_tiers(&settings);
    assert_eq!(moves.demoted, 2);
    assert_eq!(
        reported_media(&moves),
        [(2, rpc::StorageMedium::Hdd), (3, rpc::StorageMedium::Hdd)]
    );
    assert_eq!(
        media(&s, &[1, 2, 3, 4]),
        [Medium::Mem, Medium::Hdd, Medium::Hdd, Medium::Mem]
    );
    assert_eq!(s.storage().tiers[0].used, 2000);
    assert_eq!(s.storage().tiers[1].used, 2000);
    for id in 1..=4u64 {
        assert_eq!(read_all(&s, BlockId(id)), blocks[id as usize - 1]);
    }
    assert!(!mem.join("current/finalized/02/blk_2").exists());
    assert!(hdd.join("current/finalized/02/blk_2").exists());

    // Block 3, read twice from HDD, comes back up (MEM stays within its high watermark).
    s.note_read(BlockId(3));
    s.note_read(BlockId(3));
    let moves = s.rebalance_tiers(&settings);
    assert_eq!(moves.promoted, 1);
    assert_eq!(reported_media(&moves), [(3, rpc::StorageMedium::Mem)]);
    assert_eq!(media(&s, &[2, 3]), [Medium::Hdd, Medium::Mem]);
    assert_eq!(s.info(BlockId(3)).unwrap().reads, 0);
    assert_eq!(read_all(&s, BlockId(3)), blocks[2]);
    // Block 2 read twice too, but MEM has no room under its high watermark for it.
    s.note_read(BlockId(2));
    s.note_read(BlockId(2));
    assert_eq!(s.rebalance_tiers(&settings).promoted, 0);
    drop(s);

    // Reloaded, every replica is where it was moved to.
    let again = BlockStore::open(&tiers, CHUNK, false).unwrap();
    assert_eq!(
        media(&again, &[1, 2, 3, 4]),
        [Medium::Mem, Medium::Hdd, Medium::Mem, Medium::Mem]
    );
}

#[test]
fn least_frequently_used_replicas_leave_first_with_lfu() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, tiers) = mem_and_hdd(dir.path(), 4000);
    let s = BlockStore::open(&tiers, CHUNK, false).unwrap();
    let settings = TieringConfig {
        high_watermark: 0.7,
        low_watermark: 0.5,
        eviction: Eviction::Lfu,
        promote_after_reads: 0,
        ..TieringConfig::default()
    };
    for id in 1..=3 {
        put(&s, id, &[id as u8; 1000]);
    }
    // Block 1 is read often but longest ago (LRU would move it); blocks 2 and 3 once each.
    for _ in 0..3 {
        s.note_read(BlockId(1));
    }
    s.note_read(BlockId(2));
    s.note_read(BlockId(3));
    assert_eq!(s.rebalance_tiers(&settings).demoted, 1);
    assert_eq!(
        media(&s, &[1, 2, 3]),
        [Medium::Mem, Medium::Hdd, Medium::Mem]
    );
}

#[test]
fn what_a_crash_during_a_move_leaves_is_cleaned_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (mem, hdd, tiers) = mem_and_hdd(dir.path(), 0);
    let s = BlockStore::open(&tiers, CHUNK, false).unwrap();
    put(&s, 7, &[7; 1500]);
    drop(s);
    // A copy finished in HDD but the MEM files not yet removed, and a half-copied file.
    let from = mem.join("current/finalized/07");
    let to = hdd.join("current/finalized/07");
    std::fs::create_dir_all(&to).unwrap();
    for name in ["blk_7", "blk_7_1.meta"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
    std::fs::write(to.join("blk_8.moving"), b"half").unwrap();
    let again = BlockStore::open(&tiers, CHUNK, false).unwrap();
    assert_eq!(again.info(BlockId(7)).unwrap().volume, 0);
    assert_eq!(read_all(&again, BlockId(7)), vec![7; 1500]);
    assert!(!to.join("blk_7").exists() && !to.join("blk_7_1.meta").exists());
    assert!(!to.join("blk_8.moving").exists());
    assert_eq!(again.storage().used, 1500);
}

#[test]
fn readers_of_a_replica_being_written_see_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let data: Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
    let mut w = s
        .open_writer(BlockId(4), 1, OpenMode::Create, 0, 0)
        .unwrap();
    let acks = w.ack_marker();
    write(&mut w, 0, &data[..1300]);
    assert_eq!(read_all(&s, BlockId(4)), b"", "nothing acknowledged yet");
    // Acknowledged up to the middle of the third chunk, while the chunk holds more.
    acks.acknowledged(1100);
    assert_eq!(read_all(&s, BlockId(4)), data[..1100]);
    write(&mut w, 1300, &data[1300..1900]);
    assert_eq!(
        read_all(&s, BlockId(4)),
        data[..1100],
        "the visible part of a chunk written on keeps its own checksum"
    );
    acks.acknowledged(5000);
    assert_eq!(
        read_all(&s, BlockId(4)),
        data[..1900],
        "never past what is stored"
    );
    let reader = s.open_reader(BlockId(4), 0).unwrap();
    let mut buf = Vec::new();
    let crcs = reader.read_chunks(1536, 1900 - 1536, &mut buf).unwrap();
    assert_eq!(crcs, vec![crc32c(&data[1536..1900])]);
    s.finalize(w).unwrap();
    assert_eq!(read_all(&s, BlockId(4)), data[..1900]);
}
