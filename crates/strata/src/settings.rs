//! The configuration a command runs with: the TOML file (if any), then `STRATA_*` variables and
//! flags on top.

use anyhow::Context;
use std::path::Path;
use strata_core::config::Config;

/// The loaded configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Everything from the file, with overrides applied.
    pub config: Config,
}

impl Settings {
    /// Loads `config_file` (or defaults) and applies `--master` / `STRATA_MASTER`.
    pub fn load(config_file: Option<&Path>, master: Option<&str>) -> anyhow::Result<Settings> {
        let mut config = match config_file {
            Some(path) => {
                Config::load(path).with_context(|| format!("loading {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Ok(user) = std::env::var("STRATA_USER")
            && !user.is_empty()
        {
            config.client.user = user;
        }
        if let Some(master) = master {
            config.client.master = master.to_string();
            config.worker.master = master.to_string();
        }
        Ok(Settings { config })
    }
}
