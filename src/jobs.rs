//! Background work of `serve`: deletions whose grace period is over, and requirement jobs left
//! unfinished (by a crash, or a failure after the save that recorded them). Runs at start, then every
//! minute.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::db::{Pool, query};
use crate::members;
use crate::settings::delete;

pub const INTERVAL: Duration = Duration::from_secs(60);

/// Runs forever on the actix runtime.
pub async fn run(pool: Pool, settings: Arc<Settings>) {
    let mut interval = actix_web::rt::time::interval(INTERVAL);
    loop {
        interval.tick().await;
        let (pool, settings) = (pool.clone(), settings.clone());
        let result = actix_web::web::block(move || -> anyhow::Result<(Vec<String>, usize)> {
            let mut conn = pool.get()?;
            let deleted = delete::delete_due(&mut conn, query::now())?;
            let removed = members::run_unfinished_jobs(&mut conn, &settings)?;
            Ok((deleted, removed))
        })
        .await;
        match result {
            Ok(Ok((deleted, removed))) => {
                for slug in deleted {
                    tracing::info!(org = %slug, "deleted organization after its grace period");
                }
                if removed > 0 {
                    tracing::info!(removed, "finished requirement jobs left unfinished");
                }
            }
            Ok(Err(err)) => tracing::error!(error = format!("{err:#}"), "background work failed"),
            Err(err) => tracing::error!(error = %err, "background work failed"),
        }
    }
}
