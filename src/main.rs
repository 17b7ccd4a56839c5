fn main() {
    std::process::exit(syswalk::main());
}
