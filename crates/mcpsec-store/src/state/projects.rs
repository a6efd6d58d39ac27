//! Supply-chain projects: the SBOMs and lockfiles a tenant uploads per project (every
//! version kept, the document as it came plus the inventory parsed from it), the VEX
//! documents of a project, and the findings last evaluated per version.
//!
//! The store treats inventories and findings as opaque JSON / keys: parsing and matching
//! belong to `mcpsec-supply`.

use crate::Result;
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use serde::Serialize;

/// Longest project name.
pub const MAX_PROJECT_NAME: usize = 200;
/// Most projects one tenant may have.
pub const MAX_PROJECTS_PER_TENANT: usize = 10_000;
/// Most SBOM versions one project keeps.
pub const MAX_SBOM_VERSIONS: u32 = 100_000;

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// Owner (never serialized: callers only ever see their own).
    #[serde(skip)]
    pub tenant: TenantId,
    /// Id (ULID).
    pub id: String,
    /// Name, unique in the tenant.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// Last upload (or creation).
    pub updated_at: DateTime<Utc>,
    /// Number of the latest SBOM version (0: none uploaded yet).
    pub latest_version: u32,
}

/// One stored SBOM version (without the document and inventory).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SbomVersion {
    /// Project id.
    pub project: String,
    /// Version number (1, 2, ...).
    pub version: u32,
    /// File name given at upload (or derived from the content type).
    pub file_name: String,
    /// Content type given at upload.
    pub content_type: Option<String>,
    /// Format recognised (`CycloneDX 1.5 JSON`, `Cargo.lock`, ...).
    pub format: String,
    /// Hex SHA-256 of the document.
    pub sha256: String,
    /// Size of the document.
    pub bytes: u64,
    /// Components read.
    pub components: u64,
    /// Warnings about single elements of the document.
    pub warnings: Vec<String>,
    /// Upload time.
    pub uploaded_at: DateTime<Utc>,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When its findings were last evaluated.
    pub evaluated_at: DateTime<Utc>,
    /// Generation of the vulnerability database at that evaluation (none: no database).
    pub vulndb_generation: Option<u64>,
}

/// A new SBOM version to store.
#[derive(Debug, Clone)]
pub struct NewSbom<'a> {
    /// File name.
    pub file_name: &'a str,
    /// Content type.
    pub content_type: Option<&'a str>,
    /// Format recognised.
    pub format: &'a str,
    /// The document, byte for byte as uploaded.
    pub document: &'a [u8],
    /// Hex SHA-256 of the document.
    pub sha256: &'a str,
    /// The parsed inventory (JSON).
    pub inventory: &'a str,
    /// Components read.
    pub components: u64,
    /// Element warnings.
    pub warnings: &'a [String],
    /// Keys of the findings at upload (see [`ProjectStore::commit_evaluation`]).
    pub finding_keys: &'a [String],
    /// Generation of the vulnerability database used.
    pub vulndb_generation: Option<u64>,
    /// Who.
    pub actor: &'a str,
    /// When.
    pub at: DateTime<Utc>,
}

/// A VEX document stored for a project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectVex {
    /// Id (ULID).
    pub id: String,
    /// File name given at upload.
    pub file_name: String,
    /// Statements read from it.
    pub statements: u64,
    /// Upload time.
    pub uploaded_at: DateTime<Utc>,
    /// Who uploaded it.
    pub uploaded_by: String,
}

/// The latest SBOM version of one project, for re-evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestSbom {
    /// Owner.
    pub tenant: TenantId,
    /// Project id.
    pub project: String,
    /// Project name.
    pub name: String,
    /// Version.
    pub version: u32,
    /// Generation of the vulnerability database it was last evaluated against.
    pub vulndb_generation: Option<u64>,
}

/// Storage of projects.
pub trait ProjectStore: Send + Sync {
    /// Creates a project; [`crate::StoreError::Conflict`] when the tenant has one with
    /// that name.
    fn create_project(
        &self,
        tenant: &TenantId,
        name: &str,
        description: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Project>;
    /// The tenant's projects, by name.
    fn list_projects(&self, tenant: &TenantId) -> Result<Vec<Project>>;
    /// One of the tenant's projects.
    fn get_project(&self, tenant: &TenantId, id: &str) -> Result<Option<Project>>;
    /// Deletes a project with its versions and VEX documents; `false` when there was none.
    fn delete_project(&self, tenant: &TenantId, id: &str) -> Result<bool>;
    /// Stores the next version of the project's SBOM;
    /// [`crate::StoreError::NotFound`] when the project does not exist.
    fn add_sbom(&self, tenant: &TenantId, project: &str, sbom: &NewSbom<'_>)
    -> Result<SbomVersion>;
    /// The project's versions, oldest first.
    fn list_sboms(&self, tenant: &TenantId, project: &str) -> Result<Vec<SbomVersion>>;
    /// One version.
    fn get_sbom(
        &self,
        tenant: &TenantId,
        project: &str,
        version: u32,
    ) -> Result<Option<SbomVersion>>;
    /// The parsed inventory (JSON) of one version.
    fn sbom_inventory(
        &self,
        tenant: &TenantId,
        project: &str,
        version: u32,
    ) -> Result<Option<String>>;
    /// The document of one version, as uploaded.
    fn sbom_document(
        &self,
        tenant: &TenantId,
        project: &str,
        version: u32,
    ) -> Result<Option<Vec<u8>>>;
    /// The finding keys last evaluated for one version.
    fn finding_keys(&self, tenant: &TenantId, project: &str, version: u32) -> Result<Vec<String>>;
    /// The latest version of every project of every tenant.
    fn latest_sboms(&self) -> Result<Vec<LatestSbom>>;
    /// Records a version's evaluated findings and stores the alerts it raised, in one
    /// transaction: a crash keeps both or neither, so no alert is raised twice.
    fn commit_evaluation(
        &self,
        tenant: &TenantId,
        project: &str,
        version: u32,
        finding_keys: &[String],
        vulndb_generation: Option<u64>,
        alerts: &[crate::Alert],
    ) -> Result<()>;
    /// Stores a VEX document for a project.
    #[allow(clippy::too_many_arguments)] // one per column
    fn add_project_vex(
        &self,
        tenant: &TenantId,
        project: &str,
        file_name: &str,
        statements: u64,
        document: &[u8],
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<ProjectVex>;
    /// The project's VEX documents with their bytes, oldest first.
    fn project_vex(&self, tenant: &TenantId, project: &str) -> Result<Vec<(ProjectVex, Vec<u8>)>>;
}
