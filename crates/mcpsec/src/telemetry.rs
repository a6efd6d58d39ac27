//! Logging (human or JSON) and, when configured, OTLP trace export.

use crate::config::{LogFormat, LoggingConfig, TelemetryConfig};
use anyhow::Result;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Keeps the trace exporter alive; flushes it on drop.
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
    }
}

/// Installs the global subscriber. Logs go to stderr so stdout stays for results.
pub fn init(logging: &LoggingConfig, telemetry: &TelemetryConfig) -> Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&logging.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt_layer = match logging.format {
        LogFormat::Text => fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    #[cfg(feature = "otlp")]
    {
        let (otel_layer, provider) = match &telemetry.otlp_endpoint {
            Some(endpoint) => {
                let (layer, provider) = otlp_layer(endpoint, &telemetry.service_name)?;
                (Some(layer), Some(provider))
            }
            None => (None, None),
        };
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(fmt_layer)
            .with(otel_layer)
            .try_init();
        Ok(Telemetry { provider })
    }
    #[cfg(not(feature = "otlp"))]
    {
        if telemetry.otlp_endpoint.is_some() {
            anyhow::bail!("this build has no OTLP support (feature `otlp`)");
        }
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(fmt_layer)
            .try_init();
        Ok(Telemetry {})
    }
}

#[cfg(feature = "otlp")]
fn otlp_layer<S>(
    endpoint: &str,
    service: &str,
) -> Result<(
    Box<dyn Layer<S> + Send + Sync>,
    opentelemetry_sdk::trace::SdkTracerProvider,
)>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync,
{
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig;
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build();
    let tracer = provider.tracer("mcpsec");
    Ok((
        tracing_opentelemetry::layer().with_tracer(tracer).boxed(),
        provider,
    ))
}
