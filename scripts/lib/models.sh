# Sourced by the benchmark scripts: turns a model name into a GGUF path.
#   smollm2, gemma3          the real models (scripts/fetch-models.sh fetches them)
#   qwen3-0.6b.q4_0, ...     full-size synthetic models (scripts/make-fullsize-models.sh)
#   path/to/file.gguf        itself
# Needs $root (the repository) set by the caller.
model_path() {
  case $1 in
    smollm2 | gemma3) "$root/scripts/fetch-models.sh" "$1" | awk '{print $2}' ;;
    *.gguf) if [ -f "$1" ]; then echo "$1"; else echo "no such model file: $1" >&2; return 1; fi ;;
    *) local f="${MOTE_FULLSIZE_DIR:-${MOTE_CACHE:-$HOME/.cache/mote}/fullsize}/fullsize-$1.gguf"
       if [ -f "$f" ]; then echo "$f"; else
         echo "unknown model '$1' (missing $f: run scripts/make-fullsize-models.sh)" >&2; return 1
       fi ;;
  esac
}
