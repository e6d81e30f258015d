//! The one place that talks HTTP (ureq, rustls with the platform's trust
//! store). Everything above it sees a status, a few headers and a reader.

use std::io::Read;
use std::time::Duration;

/// A response, body not yet read.
pub struct Response {
    pub status: u16,
    /// `Content-Length` of this response's body.
    pub content_length: Option<u64>,
    /// First byte and total size from `Content-Range: bytes a-b/total` (206 only).
    pub range_start: Option<u64>,
    pub range_total: Option<u64>,
    /// `ETag`, else `Last-Modified`: what `If-Range` sends back on a resume.
    pub validator: Option<String>,
    pub body: Box<dyn Read + Send>,
}

#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    pub fn new() -> Client {
        let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            // Statuses are ours to interpret (206 vs 200 vs 416 vs 5xx).
            .http_status_as_error(false)
            // Bound the silent phases only: a slow but moving download of a
            // 2 GB model must not hit a global deadline.
            .timeout_resolve(Some(Duration::from_secs(30)))
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_recv_body(Some(Duration::from_secs(60)))
            .user_agent(concat!("mote-models/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { agent: config.into() }
    }

    /// GET `url`, from byte `from` if non-zero (`Range`), and only if the
    /// object still matches `if_range` (else the server sends it whole, 200).
    pub fn get(&self, url: &str, from: u64, if_range: Option<&str>) -> Result<Response, String> {
        let mut req = self.agent.get(url);
        if from > 0 {
            req = req.header("Range", format!("bytes={from}-"));
            if let Some(v) = if_range {
                req = req.header("If-Range", v);
            }
        }
        let resp = req.call().map_err(|e| e.to_string())?;
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (range_start, range_total) = header("content-range").map(|v| parse_content_range(&v)).unwrap_or((None, None));
        let validator = header("etag").or_else(|| header("last-modified"));
        let content_length = header("content-length").and_then(|v| v.trim().parse().ok());
        let status = resp.status().as_u16();
        let body = Box::new(resp.into_body().into_reader());
        Ok(Response { status, content_length, range_start, range_total, validator, body })
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

/// `bytes 100-199/1000` → (Some(100), Some(1000)); `bytes */1000` → (None, Some(1000)).
pub fn parse_content_range(v: &str) -> (Option<u64>, Option<u64>) {
    let Some(rest) = v.trim().strip_prefix("bytes") else { return (None, None) };
    let rest = rest.trim();
    let (range, total) = rest.split_once('/').unwrap_or((rest, "*"));
    let total = total.trim().parse().ok();
    let start = range.split_once('-').and_then(|(a, _)| a.trim().parse().ok());
    (start, total)
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_range_forms() {
        assert_eq!(parse_content_range("bytes 100-199/1000"), (Some(100), Some(1000)));
        assert_eq!(parse_content_range("bytes 0-0/*"), (Some(0), None));
        assert_eq!(parse_content_range("bytes */1000"), (None, Some(1000)));
        assert_eq!(parse_content_range("items 1-2/3"), (None, None));
    }
}
