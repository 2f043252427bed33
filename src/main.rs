fn main() {
    std::process::exit(nodefit::cli::run());
}
