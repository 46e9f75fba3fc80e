//! The HTTP ceiling: a trivial actix-web endpoint, `POST /echo`, that reads the body and
//! answers a small fixed JSON object built with serde_json, with the same actix-web version
//! and worker count as the server.

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{web, App, HttpResponse, HttpServer};

use crate::error::Error;

/// The fixed answer.
pub fn answer() -> serde_json::Value {
    serde_json::json!({ "ok": true, "service": "gatehouse-bench", "version": 1 })
}

/// The handler: reads (and ignores) the body, answers [`answer`].
pub async fn echo(body: web::Bytes) -> HttpResponse {
    std::hint::black_box(body.len());
    match serde_json::to_vec(&answer()) {
        Ok(bytes) => HttpResponse::Ok()
            .insert_header(ContentType::json())
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .body(bytes),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// Configures the app's routes (shared by the server and the tests).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/echo", web::post().to(echo));
}

/// Serves until SIGINT/SIGTERM.
///
/// # Errors
/// `InvalidArgument` for zero workers, `Io` if the address cannot be bound.
pub async fn serve(bind: &str, workers: usize) -> Result<(), Error> {
    if workers == 0 {
        return Err(Error::InvalidArgument("workers must be at least 1".into()));
    }
    HttpServer::new(|| App::new().configure(routes))
        .workers(workers)
        .backlog(1024)
        .bind(bind)?
        .run()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test;

    #[actix_web::test]
    async fn echo_answers_the_fixed_json() {
        let app = test::init_service(App::new().configure(routes)).await;
        let req = test::TestRequest::post()
            .uri("/echo")
            .set_payload("{\"x\":1}")
            .to_request();
        let resp = test::call_service(&app, req).await;
        assert!(resp.status().is_success());
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert_eq!(body, answer());
    }

    #[actix_web::test]
    async fn get_is_not_routed() {
        let app = test::init_service(App::new().configure(routes)).await;
        let req = test::TestRequest::get().uri("/echo").to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status().as_u16(), 404);
    }

    #[actix_web::test]
    async fn zero_workers_is_an_error() {
        assert!(matches!(
            serve("127.0.0.1:0", 0).await,
            Err(Error::InvalidArgument(_))
        ));
    }
}
