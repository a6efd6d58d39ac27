//! `/api/v1/projects`: supply-chain projects of the caller's tenant and the SBOMs,
//! lockfiles and VEX documents uploaded to them. Every version is kept (the document as
//! it came and the components parsed from it); every change is audited.

use crate::events::http_attrs;
use crate::supply_eval::{
    embedded_vex, evaluate_with, finding_keys, load_vex, open_db, scan_options,
};
use crate::{Action, ApiError, AppState, Principal};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;
use mcpsec_core::ErrorCode;
use mcpsec_ingest::body::{Compression, decompress};
use mcpsec_store::{NewSbom, Project, ProjectVex, SbomVersion};
use mcpsec_supply::inventory::Inventory;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest description kept.
const MAX_DESCRIPTION: usize = 2000;
/// Longest upload file name.
const MAX_FILE_NAME: usize = 255;

/// A project to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct NewProject {
    /// Name, unique in the tenant (1–200 characters).
    name: String,
    /// Free text (at most 2000 characters).
    description: Option<String>,
}

/// The caller's projects.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProjectList {
    /// By name.
    #[schema(value_type = Vec<Object>)]
    projects: Vec<Project>,
}

/// A project with its latest version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProjectDetail {
    /// The project.
    #[schema(value_type = Object)]
    project: Project,
    /// Its latest SBOM version, if any.
    #[schema(value_type = Option<Object>)]
    latest: Option<SbomVersion>,
}

/// Where the uploaded bytes came from.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadParams {
    /// File name: picks the lockfile reader (`Cargo.lock`, `package-lock.json`, ...);
    /// SBOMs are recognised by content. Else taken from `Content-Disposition`, else
    /// from the content type.
    filename: Option<String>,
}

/// A stored SBOM version and what was found in it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Uploaded {
    /// The stored version.
    #[schema(value_type = Object)]
    sbom: SbomVersion,
    /// Findings of this version now (VEX applied, suppressed ones not counted).
    findings: usize,
    /// Of which critical or high.
    critical_or_high: usize,
}

/// The versions of a project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SbomList {
    /// Oldest first.
    #[schema(value_type = Vec<Object>)]
    versions: Vec<SbomVersion>,
}

/// One version with its components.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SbomDetail {
    /// The version.
    #[schema(value_type = Object)]
    sbom: SbomVersion,
    /// The components parsed from it, edges and the described product.
    #[schema(value_type = Object)]
    inventory: Inventory,
}

/// VEX documents of a project.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct VexList {
    /// Oldest first.
    #[schema(value_type = Vec<Object>)]
    documents: Vec<ProjectVex>,
}

pub(crate) fn audit(
    st: &AppState,
    who: &Principal,
    action: &str,
    target: &str,
    details: serde_json::Value,
) {
    st.audit(mcpsec_store::AuditEvent {
        tenant: who.tenant.to_string(),
        actor: who.key_id.clone(),
        action: action.into(),
        target: target.chars().take(200).collect(),
        outcome: "success".into(),
        details,
    });
}

pub(crate) fn not_found(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no project {id:?} in this tenant"),
    )
}

/// The project, or 404 (also for ids of other tenants).
pub(crate) async fn project_of(
    st: &AppState,
    who: &Principal,
    id: &str,
) -> Result<Project, ApiError> {
    let (tenant, pid) = (who.tenant.clone(), id.to_owned());
    st.on_store(move |s| s.get_project(&tenant, &pid))
        .await?
        .ok_or_else(|| not_found(id))
}

/// Creates a project.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProject,
    responses(
        (status = 201, description = "Created", body = Object),
        (status = 400, description = "Invalid name", body = crate::error::ErrorBody),
        (status = 409, description = "A project with this name exists", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<NewProject>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    st.authorize(
        &who,
        Action::ProjectsWrite,
        &http_attrs("POST", "/api/v1/projects", None),
    )?;
    if body
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        return Err(ApiError::bad_request(format!(
            "description is longer than {MAX_DESCRIPTION} characters"
        )));
    }
    let (tenant, actor) = (who.tenant.clone(), who.key_id.clone());
    let name = body.name.trim().to_owned();
    let p = st
        .on_store(move |s| {
            s.create_project(
                &tenant,
                &name,
                body.description.as_deref(),
                &actor,
                Utc::now(),
            )
        })
        .await?;
    audit(
        &st,
        &who,
        "projects.create",
        &p.id,
        serde_json::json!({ "name": p.name }),
    );
    Ok((StatusCode::CREATED, Json(p)))
}

/// Lists the caller's projects.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    responses((status = 200, description = "Projects", body = ProjectList)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<ProjectList>, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs("GET", "/api/v1/projects", None),
    )?;
    let tenant = who.tenant.clone();
    let projects = st.on_store(move |s| s.list_projects(&tenant)).await?;
    Ok(Json(ProjectList { projects }))
}

/// One project with its latest version.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project", body = ProjectDetail),
        (status = 404, description = "No such project in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn get_one(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ProjectDetail>, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs("GET", "/api/v1/projects/{id}", Some(&id)),
    )?;
    let project = project_of(&st, &who, &id).await?;
    let (tenant, v) = (who.tenant.clone(), project.latest_version);
    let latest = if v == 0 {
        None
    } else {
        st.on_store(move |s| s.get_sbom(&tenant, &id, v)).await?
    };
    Ok(Json(ProjectDetail { project, latest }))
}

/// Deletes a project with every version and VEX document (its alerts stay).
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such project in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsWrite,
        &http_attrs("DELETE", "/api/v1/projects/{id}", Some(&id)),
    )?;
    let (tenant, pid) = (who.tenant.clone(), id.clone());
    if !st
        .on_store(move |s| s.delete_project(&tenant, &pid))
        .await?
    {
        return Err(not_found(&id));
    }
    audit(&st, &who, "projects.delete", &id, serde_json::json!({}));
    Ok(StatusCode::NO_CONTENT)
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `filename="x"` or `filename=x` of a Content-Disposition header.
fn disposition_name(h: &HeaderMap) -> Option<String> {
    let v = header_str(h, header::CONTENT_DISPOSITION)?;
    let at = v.find("filename=")? + "filename=".len();
    let rest = &v[at..];
    let name = match rest.strip_prefix('"') {
        Some(q) => q.split('"').next()?,
        None => rest.split(';').next()?.trim(),
    };
    Some(name.to_owned())
}

/// The name an upload is read under.
fn upload_name(p: &UploadParams, h: &HeaderMap) -> Result<String, ApiError> {
    let ct = header_str(h, header::CONTENT_TYPE)
        .unwrap_or("")
        .to_ascii_lowercase();
    let name = p
        .filename
        .clone()
        .or_else(|| disposition_name(h))
        .unwrap_or_else(|| {
            if ct.contains("cyclonedx+xml") {
                "bom.cdx.xml"
            } else if ct.contains("cyclonedx") {
                "bom.cdx.json"
            } else if ct.contains("spdx+json") {
                "sbom.spdx.json"
            } else if ct.contains("spdx") {
                "sbom.spdx"
            } else if ct.contains("openvex") {
                "vex.openvex.json"
            } else {
                "upload"
            }
            .to_owned()
        });
    if name.is_empty()
        || name.chars().count() > MAX_FILE_NAME
        || name.contains(['/', '\\'])
        || name == "."
        || name == ".."
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "filename must be a plain file name (1–255 characters, no path)",
        ));
    }
    Ok(name)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("document exceeds the {limit} byte upload limit (http.max_body_bytes)"),
    )
}

/// Reads the request body within the limits, decompressing `gzip`/`zstd`.
async fn read_body(st: &AppState, h: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    let limits = st.limits;
    if let Some(len) = header_str(h, header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok())
        && len > limits.max_body_bytes
    {
        return Err(too_large(limits.max_body_bytes));
    }
    let compression = Compression::from_header(header_str(h, header::CONTENT_ENCODING))?;
    let bytes = axum::body::to_bytes(body, limits.max_body_bytes)
        .await
        .map_err(|_| too_large(limits.max_body_bytes))?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "empty body: send the document as the request body",
        ));
    }
    let raw = tokio::task::spawn_blocking(move || {
        decompress(&bytes, compression, limits.max_decoded_bytes)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(raw)
}

/// Uploads the next SBOM version of a project.
#[utoipa::path(post, path = "/api/v1/projects/{id}/sboms", tag = "projects",
    params(("id" = String, Path, description = "Project id"), UploadParams),
    request_body(content = String, description = "The document as is: CycloneDX JSON/XML, SPDX 2.x JSON or tag-value, or a lockfile (name it with `filename`)", content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored as the next version", body = Uploaded),
        (status = 400, description = "Not a readable SBOM or lockfile (nothing stored)", body = crate::error::ErrorBody),
        (status = 404, description = "No such project in this tenant", body = crate::error::ErrorBody),
        (status = 413, description = "Larger than the upload limit (nothing stored)", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn upload(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(p): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    st.authorize(
        &who,
        Action::ProjectsWrite,
        &http_attrs("POST", "/api/v1/projects/{id}/sboms", Some(&id)),
    )?;
    project_of(&st, &who, &id).await?;
    let name = upload_name(&p, &headers)?;
    let content_type =
        header_str(&headers, header::CONTENT_TYPE).map(|s| s.chars().take(200).collect::<String>());
    let doc = read_body(&st, &headers, body).await?;
    let store = st.state.clone();
    let (dir, git) = (st.data_dir.clone(), st.git_repos.clone());
    let (tenant, actor, pid) = (who.tenant.clone(), who.key_id.clone(), id.clone());
    let (stored, findings, severe) = tokio::task::spawn_blocking(move || {
        let inv = mcpsec_supply::scan::read_bytes(&name, &name, &doc)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let inventory = serde_json::to_string(&inv).map_err(ApiError::internal)?;
        let mut vex = load_vex(store.as_ref(), &tenant, &pid)?;
        vex.extend(embedded_vex(&name, &doc));
        let (format, components, warnings) = (
            inv.format.clone(),
            (inv.components.len() + inv.unmatched.len()) as u64,
            inv.warnings.clone(),
        );
        let mut db = open_db(dir.as_deref())?;
        let ev = evaluate_with(db.as_mut(), inv, &vex, &scan_options(git.as_deref()))?;
        let keys = finding_keys(&ev.report);
        let counted: Vec<_> = ev
            .report
            .findings
            .iter()
            .filter(|f| crate::supply_eval::counts(f))
            .collect();
        let severe = counted
            .iter()
            .filter(|f| f.severity >= mcpsec_supply::cvss::Severity::High || f.malicious)
            .count();
        let sha = hex::encode(Sha256::digest(&doc));
        let stored = store.add_sbom(
            &tenant,
            &pid,
            &NewSbom {
                file_name: &name,
                content_type: content_type.as_deref(),
                format: &format,
                document: &doc,
                sha256: &sha,
                inventory: &inventory,
                components,
                warnings: &warnings,
                finding_keys: &keys,
                vulndb_generation: ev.generation,
                actor: &actor,
                at: Utc::now(),
            },
        )?;
        Ok::<_, ApiError>((stored, counted.len(), severe))
    })
    .await
    .map_err(ApiError::internal)??;
    audit(
        &st,
        &who,
        "projects.upload",
        &id,
        serde_json::json!({
            "version": stored.version, "file_name": stored.file_name, "format": stored.format,
            "sha256": stored.sha256, "bytes": stored.bytes, "components": stored.components,
        }),
    );
    Ok((
        StatusCode::CREATED,
        Json(Uploaded {
            sbom: stored,
            findings,
            critical_or_high: severe,
        }),
    ))
}

/// Lists the versions of a project.
#[utoipa::path(get, path = "/api/v1/projects/{id}/sboms", tag = "projects",
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "Versions", body = SbomList),
        (status = 404, description = "No such project in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn versions(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<SbomList>, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs("GET", "/api/v1/projects/{id}/sboms", Some(&id)),
    )?;
    project_of(&st, &who, &id).await?;
    let tenant = who.tenant.clone();
    let versions = st.on_store(move |s| s.list_sboms(&tenant, &id)).await?;
    Ok(Json(SbomList { versions }))
}

fn no_version(id: &str, v: u32) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("project {id:?} has no version {v}"),
    )
}

/// One version with its parsed components.
#[utoipa::path(get, path = "/api/v1/projects/{id}/sboms/{version}", tag = "projects",
    params(("id" = String, Path, description = "Project id"), ("version" = u32, Path, description = "Version number")),
    responses(
        (status = 200, description = "The version", body = SbomDetail),
        (status = 404, description = "No such project or version in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn version(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((id, version)): Path<(String, u32)>,
) -> Result<Json<SbomDetail>, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs("GET", "/api/v1/projects/{id}/sboms/{version}", Some(&id)),
    )?;
    project_of(&st, &who, &id).await?;
    let (tenant, pid) = (who.tenant.clone(), id.clone());
    let found = st
        .on_store(move |s| {
            Ok(match s.get_sbom(&tenant, &pid, version)? {
                Some(m) => s.sbom_inventory(&tenant, &pid, version)?.map(|i| (m, i)),
                None => None,
            })
        })
        .await?;
    let (sbom, json) = found.ok_or_else(|| no_version(&id, version))?;
    let inventory = serde_json::from_str(&json).map_err(ApiError::internal)?;
    Ok(Json(SbomDetail { sbom, inventory }))
}

/// The document of one version, byte for byte as uploaded.
#[utoipa::path(get, path = "/api/v1/projects/{id}/sboms/{version}/document", tag = "projects",
    params(("id" = String, Path, description = "Project id"), ("version" = u32, Path, description = "Version number")),
    responses(
        (status = 200, description = "The document, with the content type it was uploaded with", body = String),
        (status = 404, description = "No such project or version in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn document(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((id, version)): Path<(String, u32)>,
) -> Result<Response, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs(
            "GET",
            "/api/v1/projects/{id}/sboms/{version}/document",
            Some(&id),
        ),
    )?;
    project_of(&st, &who, &id).await?;
    let (tenant, pid) = (who.tenant.clone(), id.clone());
    let found = st
        .on_store(move |s| {
            Ok(match s.get_sbom(&tenant, &pid, version)? {
                Some(m) => s.sbom_document(&tenant, &pid, version)?.map(|d| (m, d)),
                None => None,
            })
        })
        .await?;
    let (meta, doc) = found.ok_or_else(|| no_version(&id, version))?;
    // served as an attachment of a neutral type: never rendered by a browser
    let disposition = format!(
        "attachment; filename=\"{}\"",
        meta.file_name.replace(['"', '\\'], "_")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        doc,
    )
        .into_response())
}

/// Uploads a VEX document (OpenVEX, or CycloneDX VEX JSON/XML) that applies to every
/// version of the project.
#[utoipa::path(post, path = "/api/v1/projects/{id}/vex", tag = "projects",
    params(("id" = String, Path, description = "Project id"), UploadParams),
    request_body(content = String, description = "OpenVEX JSON or CycloneDX VEX (JSON or XML)", content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored", body = Object),
        (status = 400, description = "Not a readable VEX document (nothing stored)", body = crate::error::ErrorBody),
        (status = 404, description = "No such project in this tenant", body = crate::error::ErrorBody),
        (status = 413, description = "Larger than the upload limit", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn upload_vex(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(p): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<ProjectVex>), ApiError> {
    st.authorize(
        &who,
        Action::ProjectsWrite,
        &http_attrs("POST", "/api/v1/projects/{id}/vex", Some(&id)),
    )?;
    project_of(&st, &who, &id).await?;
    let name = upload_name(&p, &headers)?;
    let doc = read_body(&st, &headers, body).await?;
    let store = st.state.clone();
    let (tenant, actor, pid) = (who.tenant.clone(), who.key_id.clone(), id.clone());
    let stored = tokio::task::spawn_blocking(move || {
        let text = std::str::from_utf8(&doc).map_err(|e| {
            ApiError::bad_request(format!("{name}: not UTF-8 text (byte {})", e.valid_up_to()))
        })?;
        let parsed = mcpsec_supply::vex::parse_vex(&name, text)
            .map_err(|e| ApiError::bad_request(format!("not a readable VEX document: {e}")))?;
        if parsed.statements.is_empty() {
            return Err(ApiError::bad_request(format!(
                "{name}: no usable VEX statement{}",
                parsed
                    .warnings
                    .first()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default()
            )));
        }
        Ok(store.add_project_vex(
            &tenant,
            &pid,
            &name,
            parsed.statements.len() as u64,
            &doc,
            &actor,
            Utc::now(),
        )?)
    })
    .await
    .map_err(ApiError::internal)??;
    audit(
        &st,
        &who,
        "projects.vex",
        &id,
        serde_json::json!({ "vex": stored.id, "file_name": stored.file_name, "statements": stored.statements }),
    );
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Lists the project's VEX documents.
#[utoipa::path(get, path = "/api/v1/projects/{id}/vex", tag = "projects",
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "VEX documents", body = VexList),
        (status = 404, description = "No such project in this tenant", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list_vex(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<VexList>, ApiError> {
    st.authorize(
        &who,
        Action::ProjectsRead,
        &http_attrs("GET", "/api/v1/projects/{id}/vex", Some(&id)),
    )?;
    project_of(&st, &who, &id).await?;
    let tenant = who.tenant.clone();
    let documents = st
        .on_store(move |s| {
            Ok(s.project_vex(&tenant, &id)?
                .into_iter()
                .map(|(m, _)| m)
                .collect())
        })
        .await?;
    Ok(Json(VexList { documents }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_are_plain_file_names() {
        let mut h = HeaderMap::new();
        let p = |f: Option<&str>| UploadParams {
            filename: f.map(str::to_owned),
        };
        assert_eq!(
            upload_name(&p(Some("Cargo.lock")), &h).expect("ok"),
            "Cargo.lock"
        );
        assert!(upload_name(&p(Some("../etc/passwd")), &h).is_err());
        assert!(upload_name(&p(Some("a\\b")), &h).is_err());
        assert!(upload_name(&p(Some("..")), &h).is_err());
        assert!(upload_name(&p(Some("a\nb")), &h).is_err());
        assert!(upload_name(&p(Some(&"x".repeat(300))), &h).is_err());
        h.insert(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"package-lock.json\""
                .parse()
                .expect("hv"),
        );
        assert_eq!(upload_name(&p(None), &h).expect("ok"), "package-lock.json");
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/vnd.cyclonedx+xml".parse().expect("hv"),
        );
        assert_eq!(upload_name(&p(None), &h).expect("ok"), "bom.cdx.xml");
    }
}
