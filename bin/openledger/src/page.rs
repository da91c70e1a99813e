//! Pagination flags of list queries (Cosmos `PageRequest`).
use anyhow::{anyhow, Result};
use base64::Engine;
use clap::Args;
use openledger_proto::cosmos::base::query::v1beta1::PageRequest;

#[derive(Args, Clone, Default)]
pub struct PageArgs {
    /// Results per page (the node's default is 100, its maximum 1000).
    #[arg(long)]
    pub limit: Option<u64>,
    /// Continue from a previous page's `next_key` (base64).
    #[arg(long)]
    pub page_key: Option<String>,
    /// Skip this many results (instead of --page-key).
    #[arg(long, conflicts_with = "page_key")]
    pub offset: Option<u64>,
    /// Also count all results (`pagination.total`).
    #[arg(long)]
    pub count_total: bool,
}

impl PageArgs {
    pub fn request(&self) -> Result<Option<PageRequest>> {
        let key = match &self.page_key {
            Some(k) => base64::engine::general_purpose::STANDARD.decode(k).map_err(|e| anyhow!("--page-key is not base64: {e}"))?,
            None => vec![],
        };
        Ok(Some(PageRequest {
            key,
            offset: self.offset.unwrap_or(0),
            limit: self.limit.unwrap_or(0),
            count_total: self.count_total,
            reverse: false,
        }))
    }
}
