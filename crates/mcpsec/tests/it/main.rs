//! Integration tests that start the real `mcpsec` binary, grouped by topic.

mod alerts;
mod audit;
mod auth;
mod authz;
mod backup;
mod bad_input;
mod cli;
mod common;
mod dashboard;
mod durability;
mod grpc;
mod hunt;
mod isolation;
mod mcp;
mod oidc;
mod playbooks;
mod projects;
mod report_jobs;
mod reports;
mod risk;
mod sources;
mod stream;
mod supply;
mod telemetry;
mod tenancy;
mod tls;
