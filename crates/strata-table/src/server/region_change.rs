//! Splits and merges, driven by the active table master. A change is first written to the
//! catalog as under way (its parents and the children's names) and its parents are held
//! offline: closed (flushed) on their servers, so every edit is in their files. The master
//! then writes each child's reference files (naming the parents' SSTables that hold its
//! rows) and commits: one catalog save replaces the parents by the children, which open on
//! the parents' server at once and rewrite the parents' files into their own by compaction.
//! A change that fails, or that a master taking over finds under way, is undone: the
//! children's directories go and the parents reopen, their files untouched. A committed
//! change's parents are deleted once no child references them.

use super::assignment::Placement;
use super::catalog::new_region_name;
use super::master::MasterState;
use crate::error::{Error, Result};
use crate::proto::rpc::{CloseRegionRequest, RegionChange, RegionDescriptor, RegionSpec};
use crate::region::layout::{RegionDir, table_dir};
use crate::region::reference;
use crate::schema::TableName;
use crate::sstable::{BlockCache, Source, SsTable};
use crate::wire;
use bytes::Bytes;
use std::sync::Arc;
use strata_client::FileSystem;
use strata_core::Error as FsError;

/// A change under way: its parents (in row order), the servers they were open on, and the
/// children's names.
#[derive(Debug)]
struct Plan {
    table: TableName,
    parents: Vec<RegionDescriptor>,
    servers: Vec<String>,
    children: Vec<String>,
}

/// Splits the region named `region` of `table` at `at` (its largest family's middle key when
/// none); the two regions that replace it.
pub(super) async fn split(
    state: &Arc<MasterState>,
    table: &TableName,
    region: &str,
    at: Option<Bytes>,
) -> Result<Vec<RegionDescriptor>> {
    let parent = state
        .catalog
        .lock()
        .await
        .table(table)?
        .regions
        .iter()
        .find(|r| r.name == region)
        .cloned()
        .ok_or_else(|| no_region(table, region))?;
    let at = match at {
        Some(at) => at,
        None => middle_row(state, table, &parent).await?,
    };
    let inside = at > parent.start && (parent.end.is_empty() || at < parent.end);
    if !inside {
        return Err(Error::InvalidRequest(format!(
            "cannot split region {region} at {}: the row is not inside it",
            String::from_utf8_lossy(&at)
        )));
    }
    let plan = begin(state, table, &[region.to_string()], 2).await?;
    let children = vec![
        child(&plan, 0, parent.start.clone(), at.clone()),
        child(&plan, 1, at, parent.end.clone()),
    ];
    finish(state, plan, children).await
}

/// Merges two adjacent regions of `table`; the region that replaces them.
pub(super) async fn merge(
    state: &Arc<MasterState>,
    table: &TableName,
    regions: &[String],
) -> Result<Vec<RegionDescriptor>> {
    if regions.len() != 2 || regions[0] == regions[1] {
        return Err(Error::InvalidRequest(
            "a merge takes two different regions".to_string(),
        ));
    }
    let mut pair = Vec::new();
    for name in regions {
        let catalog = state.catalog.lock().await;
        let found = (catalog.table(table)?.regions.iter()).find(|r| r.name == *name);
        pair.push(found.cloned().ok_or_else(|| no_region(table, name))?);
    }
    pair.sort_by(|a, b| a.start.cmp(&b.start));
    if pair[0].end != pair[1].start {
        return Err(Error::InvalidRequest(format!(
            "regions {} and {} are not adjacent",
            pair[0].name, pair[1].name
        )));
    }
    let plan = begin(state, table, regions, 1).await?;
    let (first, last) = (&plan.parents[0], &plan.parents[1]);
    let children = vec![child(&plan, 0, first.start.clone(), last.end.clone())];
    finish(state, plan, children).await
}

fn no_region(table: &TableName, region: &str) -> Error {
    Error::InvalidRequest(format!("table {table} has no region {region}"))
}

fn child(plan: &Plan, i: usize, start: Bytes, end: Bytes) -> RegionDescriptor {
    RegionDescriptor {
        table: plan.table.to_string(),
        name: plan.children[i].clone(),
        start,
        end,
    }
}

/// Records the change as under way and holds its parents offline (each must be open, with
/// no references of its own).
async fn begin(
    state: &Arc<MasterState>,
    table: &TableName,
    names: &[String],
    children: usize,
) -> Result<Plan> {
    let mut catalog = state.catalog.lock().await;
    let entry = catalog.table_mut(table)?;
    if !entry.enabled {
        return Err(Error::TableState {
            table: table.to_string(),
            state: "disabled".to_string(),
        });
    }
    let mut parents = Vec::new();
    for name in names {
        let region = (entry.regions.iter())
            .find(|r| r.name == *name)
            .ok_or_else(|| no_region(table, name))?;
        parents.push(region.clone());
    }
    parents.sort_by(|a, b| a.start.cmp(&b.start));
    let children: Vec<String> = (0..children).map(|_| new_region_name()).collect();
    let servers = {
        let mut changing = state.changing.lock();
        let mut assignments = state.assignments.lock();
        let mut servers = Vec::new();
        for parent in &parents {
            if changing.contains(&parent.name) {
                return Err(busy(parent, "a split or merge of it is under way"));
            }
            let server = match assignments.placements.get(&parent.name) {
                Some(Placement::Open(server)) => server.clone(),
                _ => return Err(busy(parent, "it is not open on any server")),
            };
            let load = (assignments.servers.get(&server)).and_then(|s| s.loads.get(&parent.name));
            if load.is_some_and(|l| l.references > 0) {
                return Err(busy(
                    parent,
                    "it still reads its parent's files (a compaction is rewriting them)",
                ));
            }
            servers.push(server);
        }
        for parent in &parents {
            changing.insert(parent.name.clone());
            assignments
                .placements
                .insert(parent.name.clone(), Placement::Held);
        }
        servers
    };
    let plan = Plan {
        table: table.clone(),
        parents,
        servers,
        children,
    };
    entry.changes.push(RegionChange {
        parents: plan.parents.clone(),
        children: (plan.children.iter())
            .map(|name| RegionDescriptor {
                table: table.to_string(),
                name: name.clone(),
                ..Default::default()
            })
            .collect(),
        done: false,
    });
    if let Err(e) = catalog.save(&state.fs, &state.config.root).await {
        drop(catalog);
        undo(state, &plan).await;
        return Err(e);
    }
    Ok(plan)
}

fn busy(region: &RegionDescriptor, reason: &str) -> Error {
    Error::RegionBusy {
        region: region.name.clone(),
        reason: reason.to_string(),
    }
}

/// Closes the parents, writes the children's references and commits; undoes the change on
/// any failure.
async fn finish(
    state: &Arc<MasterState>,
    plan: Plan,
    children: Vec<RegionDescriptor>,
) -> Result<Vec<RegionDescriptor>> {
    let done = async {
        close_parents(state, &plan).await?;
        for child in &children {
            write_references(state, &plan, child).await?;
        }
        commit(state, &plan, &children).await
    };
    match done.await {
        Ok(()) => {
            tracing::info!(table = %plan.table,
                parents = ?plan.parents.iter().map(|r| &r.name).collect::<Vec<_>>(),
                children = ?plan.children, "regions changed");
            Ok(children)
        }
        Err(e) => {
            tracing::warn!(table = %plan.table, error = %e, "a split or merge failed; undoing it");
            undo(state, &plan).await;
            Err(e)
        }
    }
}

async fn close_parents(state: &MasterState, plan: &Plan) -> Result<()> {
    for (parent, server) in plan.parents.iter().zip(&plan.servers) {
        let mut client = state.server(server)?;
        client
            .close_region(CloseRegionRequest {
                region: Some(RegionSpec {
                    table: parent.table.clone(),
                    region: parent.name.clone(),
                }),
                flush: true,
            })
            .await
            .map_err(|s| wire::from_status(s, server))?;
    }
    Ok(())
}

/// The families' directories of a region.
async fn family_dirs(state: &MasterState, table: &TableName, region: &str) -> Result<Vec<String>> {
    let families = (state.catalog.lock().await.table(table)?.schema.clone())
        .map(|s| s.families)
        .unwrap_or_default();
    let dir = RegionDir::new(&table_dir(&state.config.root, table), region);
    Ok(families.iter().map(|f| dir.family(&f.name)).collect())
}

/// The files in a directory (none when it does not exist).
async fn files_in(fs: &FileSystem, dir: &str) -> Result<Vec<strata_client::FileStatus>> {
    match fs.list(dir).collect().await {
        Ok(files) => Ok(files),
        Err(FsError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Opens an SSTable to read its info.
async fn open_info(fs: &FileSystem, path: &str) -> Result<SsTable> {
    let source = Source::Strata(fs.open_positional(path).await?);
    SsTable::open(path, source, Arc::new(BlockCache::new(0)), false).await
}

/// Where a split of `region` cuts: the middle row of the largest file of its largest family
/// (HBase's choice).
async fn middle_row(
    state: &MasterState,
    table: &TableName,
    region: &RegionDescriptor,
) -> Result<Bytes> {
    let mut largest: Option<(u64, String)> = None;
    for dir in family_dirs(state, table, &region.name).await? {
        let files = files_in(&state.fs, &dir).await?;
        if files.iter().any(|f| reference::is_reference(&f.path)) {
            return Err(busy(
                region,
                "it still reads its parent's files (a compaction is rewriting them)",
            ));
        }
        let ssts: Vec<_> = files.iter().filter(|f| f.path.ends_with(".sst")).collect();
        let total: u64 = ssts.iter().map(|f| f.length).sum();
        let biggest = ssts.iter().max_by_key(|f| f.length);
        if let Some(file) = biggest
            && largest.as_ref().is_none_or(|(size, _)| total > *size)
        {
            largest = Some((total, file.path.clone()));
        }
    }
    let Some((_, file)) = largest else {
        return Err(Error::InvalidRequest(format!(
            "region {} has no files to split (flush it first, or give a split row)",
            region.name
        )));
    };
    let middle = open_info(&state.fs, &file).await?.info().middle_row.clone();
    if middle.is_empty() || middle <= region.start {
        return Err(Error::InvalidRequest(format!(
            "region {} cannot be split: its rows fit one block (give a split row)",
            region.name
        )));
    }
    Ok(middle)
}

/// Writes a reference in `child` to every parent file holding rows of it.
async fn write_references(
    state: &MasterState,
    plan: &Plan,
    child: &RegionDescriptor,
) -> Result<()> {
    let child_dir = RegionDir::new(&table_dir(&state.config.root, &plan.table), &child.name);
    let schema = (state
        .catalog
        .lock()
        .await
        .table(&plan.table)?
        .schema
        .clone())
    .map(|s| s.families)
    .unwrap_or_default();
    for parent in &plan.parents {
        let parent_dir = RegionDir::new(&table_dir(&state.config.root, &plan.table), &parent.name);
        for family in &schema {
            for file in files_in(&state.fs, &parent_dir.family(&family.name)).await? {
                if reference::is_reference(&file.path) {
                    return Err(busy(parent, "it still reads its own parent's files"));
                }
                if !file.path.ends_with(".sst") {
                    continue;
                }
                let table = open_info(&state.fs, &file.path).await?;
                let info = table.info();
                let below_end = child.end.is_empty() || info.first_row[..] < child.end[..];
                if !below_end || info.last_row[..] < child.start[..] {
                    continue;
                }
                let path =
                    reference::reference_path(&child_dir, &family.name, &parent.name, &file.path);
                reference::write(&state.fs, &path, &file.path, 0).await?;
            }
        }
    }
    Ok(())
}

/// Replaces the parents by the children in one catalog save and opens the children where
/// the first parent was.
async fn commit(
    state: &Arc<MasterState>,
    plan: &Plan,
    children: &[RegionDescriptor],
) -> Result<()> {
    let mut catalog = state.catalog.lock().await;
    let entry = catalog.table_mut(&plan.table)?;
    let parent_names: Vec<&String> = plan.parents.iter().map(|p| &p.name).collect();
    entry.regions.retain(|r| !parent_names.contains(&&r.name));
    entry.regions.extend(children.iter().cloned());
    entry.regions.sort_by(|a, b| a.start.cmp(&b.start));
    let change = (entry.changes.iter_mut())
        .find(|c| {
            c.children
                .first()
                .is_some_and(|c| c.name == plan.children[0])
        })
        .ok_or_else(|| Error::Internal("the change under way left the catalog".to_string()))?;
    change.children = children.to_vec();
    change.done = true;
    let schema = entry.schema.clone();
    let enabled = entry.enabled;
    catalog.save(&state.fs, &state.config.root).await?;
    drop(catalog);
    // The parents stay held until the next assignment pass forgets them.
    let mut changing = state.changing.lock();
    for parent in &plan.parents {
        changing.remove(&parent.name);
    }
    drop(changing);
    if enabled {
        for child in children {
            super::master::open_on(state, schema.clone(), child, plan.servers[0].clone());
        }
    }
    Ok(())
}

/// Undoes a change under way: the children's directories go, the change leaves the catalog
/// and the parents are free to open again.
async fn undo(state: &MasterState, plan: &Plan) {
    let dir = table_dir(&state.config.root, &plan.table);
    for child in &plan.children {
        let path = RegionDir::new(&dir, child).path().to_string();
        match state.fs.delete(&path, true).await {
            Ok(_) | Err(FsError::NotFound { .. }) => {}
            Err(e) => tracing::warn!(%path, error = %e, "cannot delete an undone child region"),
        }
    }
    let mut catalog = state.catalog.lock().await;
    if let Ok(entry) = catalog.table_mut(&plan.table) {
        entry
            .changes
            .retain(|c| !c.children.iter().any(|c| plan.children.contains(&c.name)));
        if let Err(e) = catalog.save(&state.fs, &state.config.root).await {
            tracing::warn!(error = %e, "cannot save the catalog after undoing a change");
        }
    }
    drop(catalog);
    let mut assignments = state.assignments.lock();
    let mut changing = state.changing.lock();
    for parent in &plan.parents {
        changing.remove(&parent.name);
        if assignments.placements.get(&parent.name) == Some(&Placement::Held) {
            assignments.placements.remove(&parent.name);
        }
    }
}

/// Finishes what changes left behind: undoes those under way that no task of this master
/// runs (a master that stopped mid-way), and deletes the parents of committed ones once no
/// child reads their files.
pub(super) async fn tidy(state: &Arc<MasterState>) {
    let tables: Vec<(TableName, Vec<RegionChange>)> = {
        let catalog = state.catalog.lock().await;
        (catalog.tables.values())
            .filter(|t| !t.changes.is_empty())
            .filter_map(|t| {
                let name = t
                    .schema
                    .as_ref()
                    .and_then(|s| TableName::parse(&s.name).ok())?;
                Some((name, t.changes.clone()))
            })
            .collect()
    };
    for (table, changes) in tables {
        for change in changes {
            let running = (change.parents.iter()).any(|p| state.changing.lock().contains(&p.name));
            if running {
                continue;
            }
            if !change.done {
                let plan = Plan {
                    table: table.clone(),
                    parents: change.parents.clone(),
                    servers: Vec::new(),
                    children: change.children.iter().map(|c| c.name.clone()).collect(),
                };
                tracing::warn!(%table, children = ?plan.children, "undoing a split or merge a master left under way");
                undo(state, &plan).await;
                continue;
            }
            match still_referenced(state, &table, &change).await {
                Ok(false) => delete_parents(state, &table, &change).await,
                Ok(true) => {}
                Err(e) => tracing::debug!(%table, error = %e, "cannot check a change's references"),
            }
        }
    }
}

/// Whether a child of `change` still reads a parent's file.
async fn still_referenced(
    state: &MasterState,
    table: &TableName,
    change: &RegionChange,
) -> Result<bool> {
    for child in &change.children {
        for dir in family_dirs(state, table, &child.name).await? {
            for file in files_in(&state.fs, &dir).await? {
                if change
                    .parents
                    .iter()
                    .any(|p| reference::refers_to(&file.path, &p.name))
                {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

async fn delete_parents(state: &MasterState, table: &TableName, change: &RegionChange) {
    let dir = table_dir(&state.config.root, table);
    for parent in &change.parents {
        let path = RegionDir::new(&dir, &parent.name).path().to_string();
        match state.fs.delete(&path, true).await {
            Ok(_) | Err(FsError::NotFound { .. }) => {}
            Err(e) => {
                tracing::warn!(%path, error = %e, "cannot delete a split or merged region's files");
                return;
            }
        }
    }
    let mut catalog = state.catalog.lock().await;
    if let Ok(entry) = catalog.table_mut(table) {
        entry.changes.retain(|c| c != change);
        if let Err(e) = catalog.save(&state.fs, &state.config.root).await {
            tracing::warn!(error = %e, "cannot save the catalog after deleting parents");
        }
    }
    tracing::info!(%table, parents = ?change.parents.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "deleted the files of regions replaced by a split or merge");
}
