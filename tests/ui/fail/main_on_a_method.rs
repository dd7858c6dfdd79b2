struct App;

impl App {
    #[graceful::main]
    async fn run(&self) {}
}

fn main() {}
