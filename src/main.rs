fn main() -> std::process::ExitCode {
    dropcase::cli::main()
}
