//! Thousands of random and mutated frames against every port of a running cluster; the cluster
//! must stay healthy and every file must still read back exactly.

use crate::harness::{cluster, read, write};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use strata_proto::data::{self, request};
use strata_proto::frame::encode_header;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A frame built from a valid request or packet, then perhaps damaged.
fn frame(rng: &mut StdRng) -> Vec<u8> {
    let block = data::BlockRef {
        id: rng.random_range(0..1u64 << 40),
        generation: rng.random(),
    };
    let op = match rng.random_range(0..5) {
        0 => request::Op::WriteBlock(data::WriteBlock {
            block: Some(block),
            stage: rng.random_range(-1..6),
            downstream: (0..rng.random_range(0..3))
                .map(|_| data::Target {
                    worker_id: "fuzz".into(),
                    address: format!("127.0.0.1:{}", rng.random_range(1..65535u32)),
                })
                .collect(),
            client_name: "fuzz".into(),
            start_offset: rng.random_range(0..10_000),
            old_generation: 0,
            expected_length: rng.random(),
            chunk_size: if rng.random_bool(0.8) {
                4096
            } else {
                rng.random()
            },
        }),
        1 => request::Op::ReadBlock(data::ReadBlock {
            block: Some(block),
            offset: rng.random(),
            length: rng.random(),
            client_name: "fuzz".into(),
            // Sometimes a read-through of a mount that does not exist.
            ufs: rng.random_bool(0.3).then(|| strata_proto::rpc::UfsBlock {
                mount: "/no-such-mount".into(),
                key: "k".into(),
                object_offset: rng.random(),
                fingerprint: None,
                length: rng.random(),
            }),
        }),
        2 => request::Op::BlockChecksum(data::BlockChecksum {
            block: Some(block),
            chunk_crcs_md5: rng.random(),
        }),
        3 => request::Op::RecoveryQuery(data::RecoveryQuery { block_id: block.id }),
        _ => request::Op::RecoveryFinalize(data::RecoveryFinalize {
            block_id: block.id,
            new_generation: rng.random(),
            length: rng.random(),
        }),
    };
    let mut bytes = encode_header(&data::Request { op: Some(op) });
    // Packets after the request, some with wrong checksums, offsets or lengths.
    for seqno in 0..rng.random_range(0..4) {
        let len = rng.random_range(0..9000usize);
        let payload: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let mut crcs = strata_core::checksum::chunk_checksums(0, &payload, 4096);
        if rng.random_bool(0.5) && !crcs.is_empty() {
            crcs[0] ^= 1;
        }
        let packet = data::Packet {
            seqno,
            offset: if rng.random_bool(0.7) {
                0
            } else {
                rng.random()
            },
            last: rng.random_bool(0.2),
            checksums: strata_core::checksum::encode_checksums(&crcs),
            data_length: if rng.random_bool(0.9) {
                len as u32
            } else {
                rng.random()
            },
            sync: rng.random_bool(0.1),
        };
        bytes.extend_from_slice(&encode_header(&packet));
        bytes.extend_from_slice(&payload);
    }
    match rng.random_range(0..5) {
        0 => {
            let i = rng.random_range(0..bytes.len());
            bytes[i] ^= 1 << rng.random_range(0..8);
        }
        1 => bytes.truncate(rng.random_range(0..bytes.len())),
        2 => bytes[..4].copy_from_slice(&rng.random::<u32>().to_be_bytes()),
        3 => {
            bytes = (0..rng.random_range(0..512))
                .map(|_| rng.random())
                .collect()
        }
        _ => {}
    }
    bytes
}

async fn send(address: String, bytes: Vec<u8>) {
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&address)).await
    else {
        return;
    };
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
    let mut sink = vec![0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut sink)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_frames_leave_the_cluster_healthy() {
    let c = cluster(&["/r1", "/r2", "/r1"], |_| {}).await;
    let fs = c.client().await;
    let mut files = Vec::new();
    for i in 0..4 {
        let data = strata_testkit::pattern(300 + i, 1_200_000 + i as usize * 1000);
        write(&fs, &format!("/keep/f{i}"), &data, 3, 1 << 20).await;
        files.push(data);
    }
    let report = fs.report().await.unwrap();
    let mut ports: Vec<String> = report
        .workers
        .iter()
        .map(|w| w.address.clone().unwrap().data_address)
        .collect();
    ports.push(c.master_address().to_string());
    let mut rng = StdRng::seed_from_u64(0x5EED);
    let mut sends = Vec::new();
    for round in 0..4000 {
        let address = ports[round % ports.len()].clone();
        let bytes = if address == c.master_address() && rng.random_bool(0.5) {
            let mut b = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            b.extend((0..rng.random_range(0..300)).map(|_| rng.random::<u8>()));
            b
        } else {
            frame(&mut rng)
        };
        sends.push(tokio::spawn(send(address, bytes)));
        if sends.len() >= 64 {
            for s in sends.drain(..) {
                let _ = s.await;
            }
        }
    }
    for s in sends {
        let _ = s.await;
    }
    // Well-formed RPCs with nonsense arguments.
    let master = fs.master().client();
    for i in 0..300u64 {
        let mut m = master.clone();
        let _ = m
            .add_block(strata_proto::rpc::AddBlockRequest {
                path: format!("/x{i}"),
                inode_id: rng.random(),
                client_name: "fuzz".into(),
                previous: Some(strata_proto::rpc::Block {
                    id: rng.random(),
                    generation: rng.random(),
                    length: rng.random(),
                }),
                excluded_workers: vec!["nobody".into()],
            })
            .await;
        let _ = m
            .get_block_locations(strata_proto::rpc::GetBlockLocationsRequest {
                path: format!("/keep/f{}", i % 4),
                offset: rng.random(),
                length: rng.random(),
                with_block_being_written: rng.random(),
            })
            .await;
        let _ = m
            .recover_lease(strata_proto::rpc::RecoverLeaseRequest {
                path: format!("/keep/f{}", i % 4),
            })
            .await;
        let _ = m
            .list_status(strata_proto::rpc::ListStatusRequest {
                path: "/keep".into(),
                start_after: String::from_utf8_lossy(&rng.random::<[u8; 8]>()).into(),
                limit: rng.random(),
                xattrs: vec![String::from_utf8_lossy(&rng.random::<[u8; 8]>()).into()],
            })
            .await;
        let _ = m
            .report_bad_blocks(strata_proto::rpc::ReportBadBlocksRequest {
                replicas: vec![strata_proto::rpc::BadReplica {
                    block: Some(strata_proto::rpc::Block {
                        id: rng.random(),
                        ..Default::default()
                    }),
                    worker_id: "nobody".into(),
                }],
            })
            .await;
    }
    let bad = master
        .clone()
        .create(strata_proto::rpc::CreateRequest {
            path: "/a\u{0}/../x".into(),
            client_name: "fuzz".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(bad.unwrap_err().code(), tonic::Code::InvalidArgument);

    let report = fs.report().await.unwrap();
    let summary = report.summary.unwrap();
    assert_eq!(summary.live_workers, 3, "every worker is still alive");
    for (i, data) in files.iter().enumerate() {
        assert!(
            read(&fs, &format!("/keep/f{i}")).await == *data,
            "/keep/f{i} still reads back"
        );
    }
    let (checked, fsck) = fs.fsck("/keep").await.unwrap();
    assert_eq!(fsck.missing_blocks + fsck.corrupt_blocks, 0);
    assert_eq!(checked.len(), 4);
    write(
        &fs,
        "/keep/after",
        &strata_testkit::pattern(1, 100_000),
        3,
        1 << 20,
    )
    .await;
}
