#[graceful::teardown(order = 10)]
async fn stop(ctx: &graceful::Context) {
    let _ = ctx;
}

fn main() {}
