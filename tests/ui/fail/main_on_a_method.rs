struct App {
    port: u16,
}

impl App {
    #[graceful::main]
    async fn run(&self) {
        println!("serving on port {}", self.port);
    }
}

fn main() {
    drop(App { port: 8080 }.run());
}
