fn main() {
    std::process::exit(syswalk::app::main());
}
