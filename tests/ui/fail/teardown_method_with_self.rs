struct Server;

impl Server {
    #[graceful::teardown(order = 10)]
    async fn stop(&self) {}
}

fn main() {
    drop(Server.stop());
}
