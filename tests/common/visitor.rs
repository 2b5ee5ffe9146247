//! `Visitor`: a browser with its own cookies and the CSRF token of the last page it loaded; `Page`:
//! a response, read, with what the tests scrape from HTML (field errors, inputs, form fields).

use std::sync::Mutex;

use reqwest::StatusCode;

/// A browser: its own cookie jar and the CSRF token of the last page it loaded. Redirects are not
/// followed, so tests see them.
pub struct Visitor {
    pub base: String,
    pub client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    csrf: Mutex<String>,
}

impl Visitor {
    pub fn new(base: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            // below the server's 5 s keep-alive, so a connection is never reused just as the server
            // closes it (hyper's IncompleteMessage after a slow step of a test)
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("HTTP client");
        Self {
            base: base.to_owned(),
            client,
            jar,
            csrf: Mutex::new(String::new()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET; remembers the page's CSRF token.
    pub async fn get(&self, path: &str) -> Page {
        let response = self.client.get(self.url(path)).send().await.expect("GET");
        self.page(response).await
    }

    async fn page(&self, response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.expect("body");
        if let Some(token) = meta_csrf(&body) {
            *self.csrf.lock().unwrap() = token;
        }
        Page {
            status,
            location,
            body,
        }
    }

    /// The CSRF token of the last page fetched (fetching `/login` when none was).
    pub async fn csrf_token(&self) -> String {
        let token = self.csrf.lock().unwrap().clone();
        if !token.is_empty() {
            return token;
        }
        self.get("/login").await;
        self.csrf.lock().unwrap().clone()
    }

    /// POSTs a form with the session's CSRF token, as a browser would after loading the page.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_form_with_headers(path, fields, &[]).await
    }

    /// The same, with extra request headers (`X-Forwarded-For` from a proxy, say).
    pub async fn post_form_with_headers(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let token = self.csrf_token().await;
        let mut body: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        body.extend_from_slice(fields);
        let mut request = self.client.post(self.url(path)).form(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("POST");
        self.page(response).await
    }

    /// Loads the form page (for its token), then submits the form to the same path.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(path).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "GET {path} before submitting: {}",
            page.body
        );
        self.post_form(path, fields).await
    }

    /// Logs in through the login form and loads the landing page (which carries the new token).
    pub async fn login(&self, username: &str, password: &str) {
        self.get("/login").await;
        let page = self
            .post_form("/login", &[("username", username), ("password", password)])
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "login as {username} failed: {}",
            page.body
        );
        self.get("/organizations/").await;
    }

    /// Loads the page, fills its form as a browser would (every enabled field with what it shows),
    /// applies the edits, and submits it to the form's action.
    pub async fn submit_form(&self, path: &str, edits: &[Edit]) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "GET {path}: {}", page.body);
        self.resubmit(&page, path, edits).await
    }

    /// Submits the form of an already loaded page (e.g. one that came back with errors).
    pub async fn resubmit(&self, page: &Page, action: &str, edits: &[Edit]) -> Page {
        let mut fields = page.form_fields(action);
        for edit in edits {
            match edit {
                Edit::Set(name, value) => {
                    fields.retain(|(n, _)| n != name);
                    fields.push(((*name).to_owned(), (*value).to_owned()));
                }
                Edit::Uncheck(name) => fields.retain(|(n, _)| n != name),
            }
        }
        let response = self
            .client
            .post(self.url(action))
            .form(&fields)
            .send()
            .await
            .expect("POST");
        self.page(response).await
    }

    /// Uploads an avatar through the avatar page's multipart form (with the session's CSRF token).
    pub async fn upload_avatar(
        &self,
        slug: &str,
        avatar_type: &str,
        file: Option<Vec<u8>>,
    ) -> Page {
        let path = format!("/settings/{slug}/avatar/");
        self.get(&path).await;
        let token = self.csrf_token().await;
        let mut form = reqwest::multipart::Form::new()
            .text("csrf_token", token)
            .text("avatarType", avatar_type.to_owned());
        form = match file {
            Some(bytes) => form.part(
                "avatar",
                reqwest::multipart::Part::bytes(bytes).file_name("avatar.png"),
            ),
            None => form.part(
                "avatar",
                reqwest::multipart::Part::bytes(Vec::new()).file_name(""),
            ),
        };
        let response = self
            .client
            .post(self.url(&path))
            .multipart(form)
            .send()
            .await
            .expect("upload");
        self.page(response).await
    }

    /// A JSON API call with the session's CSRF token in `X-CSRFToken`; returns status and body.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let token = self.csrf_token().await;
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("X-CSRFToken", token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    /// A JSON API call with an `Authorization` header (e.g. `Bearer TOKEN`) and no CSRF token; this
    /// browser's cookies go along, as a script sharing a cookie jar would send them.
    pub async fn authorized(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Authorization", authorization);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    pub async fn api_get(&self, path: &str) -> (StatusCode, serde_json::Value) {
        self.api(reqwest::Method::GET, path, None).await
    }

    pub async fn api_put(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.api(reqwest::Method::PUT, path, Some(body)).await
    }

    /// The value of the session cookie, as the client holds it.
    pub fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&self.base).ok()?;
        let header = self.jar.cookies(&url)?;
        let prefix = format!("{}=", orgsettings::web::session::SESSION_COOKIE);
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|c| c.strip_prefix(prefix.as_str()))
            .map(str::to_owned)
    }

    /// Replaces the client's session cookie (to replay an old one).
    pub fn set_session_cookie(&self, value: &str) {
        let url = url::Url::parse(&self.base).unwrap();
        self.jar.add_cookie_str(
            &format!(
                "{}={value}; Path=/",
                orgsettings::web::session::SESSION_COOKIE
            ),
            &url,
        );
    }
}

/// A response, read.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The error message shown next to a form field (`<p class="error" id="error_FIELD">`).
    pub fn field_error(&self, field: &str) -> Option<String> {
        let marker = format!("id=\"error_{field}\">");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find("</p>")? + start;
        Some(unescape(&self.body[start..end]))
    }

    /// The value of an input, as rendered.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let at = self.body.find(&marker)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = self.body[at..].find('>')? + at;
        let tag = &self.body[tag_start..tag_end];
        let value_at = tag.find("value=\"")? + "value=\"".len();
        let value_end = tag[value_at..].find('"')? + value_at;
        Some(unescape(&tag[value_at..value_end]))
    }

    pub fn contains(&self, text: &str) -> bool {
        unescape(&self.body).contains(text)
    }

    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a redirect: {}",
            self.body
        );
        assert_eq!(self.location.as_deref(), Some(to));
    }
}

/// A change to a form before it is submitted.
pub enum Edit {
    Set(&'static str, &'static str),
    Uncheck(&'static str),
}

impl Page {
    /// What a browser would submit for the form whose action is `action`: enabled inputs (checked
    /// checkboxes only), selected options and textareas.
    pub fn form_fields(&self, action: &str) -> Vec<(String, String)> {
        let start = self
            .body
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form posting to {action}: {}", self.body));
        let end = self.body[start..].find("</form>").expect("end of form") + start;
        let form = &self.body[start..end];
        let tag = regex::Regex::new(r#"(?s)<(input|select|textarea)\b([^>]*)>"#).unwrap();
        let attr = |attrs: &str, name: &str| -> Option<String> {
            let re = regex::Regex::new(&format!(r#"\b{name}="([^"]*)""#)).unwrap();
            re.captures(attrs).map(|c| unescape(&c[1]))
        };
        let flag = |attrs: &str, name: &str| {
            regex::Regex::new(&format!(r"\s{name}(\s|$|>|/)"))
                .unwrap()
                .is_match(attrs)
        };
        let option = regex::Regex::new(r#"<option value="([^"]*)"( selected)?"#).unwrap();
        let mut fields = Vec::new();
        for caps in tag.captures_iter(form) {
            let (kind, attrs) = (&caps[1], &caps[2]);
            let Some(name) = attr(attrs, "name") else {
                continue;
            };
            if flag(attrs, "disabled") {
                continue;
            }
            let after = caps.get(0).unwrap().end();
            match kind {
                "input" => {
                    let ty = attr(attrs, "type").unwrap_or_else(|| "text".into());
                    if ty == "checkbox" && !flag(attrs, "checked") {
                        continue;
                    }
                    fields.push((name, attr(attrs, "value").unwrap_or_default()));
                }
                "textarea" => {
                    let close = form[after..].find("</textarea>").unwrap() + after;
                    fields.push((name, unescape(&form[after..close])));
                }
                _ => {
                    let close = form[after..].find("</select>").unwrap() + after;
                    let options = &form[after..close];
                    let all: Vec<_> = option.captures_iter(options).collect();
                    let chosen = all.iter().find(|c| c.get(2).is_some()).or(all.first());
                    if let Some(c) = chosen {
                        fields.push((name, unescape(&c[1])));
                    }
                }
            }
        }
        fields
    }

    /// Whether the input named `name` is rendered disabled.
    pub fn is_disabled(&self, name: &str) -> bool {
        let re = regex::Regex::new(&format!(
            r#"<(input|select|textarea)[^>]*name="{name}"[^>]*>"#
        ))
        .unwrap();
        re.find(&self.body)
            .is_some_and(|m| m.as_str().contains(" disabled"))
    }

    /// Whether the checkbox named `name` is rendered checked.
    pub fn is_checked(&self, name: &str) -> bool {
        let re = regex::Regex::new(&format!(r#"<input[^>]*name="{name}"[^>]*>"#)).unwrap();
        re.find(&self.body)
            .is_some_and(|m| m.as_str().contains(" checked"))
    }

    /// The text of a textarea.
    pub fn textarea(&self, name: &str) -> Option<String> {
        let re = regex::Regex::new(&format!(
            r#"(?s)<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>"#
        ))
        .unwrap();
        re.captures(&self.body).map(|c| unescape(&c[1]))
    }

    /// The selected option of a select.
    pub fn selected(&self, name: &str) -> Option<String> {
        let re = regex::Regex::new(&format!(
            r#"(?s)<select[^>]*name="{name}"[^>]*>(.*?)</select>"#
        ))
        .unwrap();
        let options = re.captures(&self.body)?.get(1)?.as_str().to_owned();
        let option = regex::Regex::new(r#"<option value="([^"]*)" selected"#).unwrap();
        option.captures(&options).map(|c| unescape(&c[1]))
    }
}

pub fn meta_csrf(html: &str) -> Option<String> {
    let marker = "<meta name=\"csrf-token\" content=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    let token = &html[start..end];
    (!token.is_empty()).then(|| token.to_owned())
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Visitor {
    /// POSTs a multipart form (text fields and one file field) with the session's CSRF token.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, Vec<u8>),
    ) -> Page {
        let token = self.csrf_token().await;
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form = form.part(
            file.0.to_owned(),
            reqwest::multipart::Part::bytes(file.1).file_name("upload.png"),
        );
        let response = self
            .client
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .expect("multipart POST");
        self.page(response).await
    }
}
