// mote-reference: greedy ids and logit statistics from libllama, for the
// reference JSONs of rust/testdata/vectors/synthetic (see make_references.py).
//
// Written against the public llama.h API only. For each prompt it prints one
// JSON object per line on stdout:
//   {"prompt_token_ids": [...],
//    "greedy": [{"token": t, "logsumexp": x, "topk": [[id, logit], ...]}, ...],
//    "greedy_text_hex": "...",           // concatenated pieces of the greedy ids
//    "prompt_positions": [{"logsumexp": x, "topk": [...]}, ...]}
// Logits are printed with %.9g (float32 round-trip), logsumexp (computed in
// double) with %.17g; formatting for the JSON files is done by the caller.
//
// Procedure (mirrors what llama-completion does with --temp 0):
//   * tokens = llama_tokenize(add_special=true, parse_special=true)
//   * greedy: fresh context; llama_decode(llama_batch_get_one(prompt)) (logits of
//     the last token only); then n times: argmax (lowest id on ties), record,
//     decode that single token.
//   * prompt_positions: another fresh context; the whole prompt in one batch with
//     logits requested at every position (teacher forcing).
// Context: n_ctx 512, n_batch = n_ubatch = 512, 1 thread; default KV type (F16)
// and flash attention AUTO, or with --alt: F32 K/V cache, flash attention off.
//
// Usage: mote-reference -m MODEL [--alt] [-n N_PREDICT] [-k TOPK] [-c N_CTX]
//                       [-t THREADS] -p PROMPT [-p PROMPT ...]

#include "llama.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

namespace {

struct Options {
    std::string model;
    std::vector<std::string> prompts;
    bool alt = false;
    int n_predict = 16;
    int top_k = 10;
    int n_ctx = 512;
    int threads = 1;
};

[[noreturn]] void die(const std::string & msg) {
    std::fprintf(stderr, "mote-reference: %s\n", msg.c_str());
    std::exit(1);
}

void quiet_log(enum ggml_log_level level, const char * text, void *) {
    if (level == GGML_LOG_LEVEL_ERROR) {
        std::fputs(text, stderr);
    }
}

Options parse_args(int argc, char ** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + a);
            return argv[++i];
        };
        if (a == "-m") o.model = next();
        else if (a == "-p") o.prompts.push_back(next());
        else if (a == "--alt") o.alt = true;
        else if (a == "-n") o.n_predict = std::atoi(next().c_str());
        else if (a == "-k") o.top_k = std::atoi(next().c_str());
        else if (a == "-c") o.n_ctx = std::atoi(next().c_str());
        else if (a == "-t") o.threads = std::atoi(next().c_str());
        else die("unknown argument " + a);
    }
    if (o.model.empty() || o.prompts.empty()) {
        die("usage: mote-reference -m MODEL [--alt] [-n N] [-k K] [-c N_CTX] [-t THREADS] -p PROMPT [-p PROMPT ...]");
    }
    return o;
}

// Statistics of one row of logits.
struct RowStats {
    int top1 = -1;
    double logsumexp = 0.0;
    std::vector<std::pair<int, float>> topk;
};

RowStats row_stats(const float * logits, int n_vocab, int k) {
    RowStats s;
    std::vector<int> idx(n_vocab);
    std::iota(idx.begin(), idx.end(), 0);
    k = std::min(k, n_vocab);
    auto better = [&](int a, int b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), better);
    for (int i = 0; i < k; ++i) s.topk.emplace_back(idx[i], logits[idx[i]]);
    s.top1 = idx[0];
    const double mx = logits[s.top1];
    double sum = 0.0;
    for (int i = 0; i < n_vocab; ++i) sum += std::exp(double(logits[i]) - mx);
    s.logsumexp = mx + std::log(sum);
    return s;
}

std::string fmt(const char * f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string stats_json(const RowStats & s) {
    std::string out = "{\"top1\": " + std::to_string(s.top1) +
                      ", \"logsumexp\": " + fmt("%.17g", s.logsumexp) + ", \"topk\": [";
    for (size_t i = 0; i < s.topk.size(); ++i) {
        if (i) out += ", ";
        out += "[" + std::to_string(s.topk[i].first) + ", " + fmt("%.9g", s.topk[i].second) + "]";
    }
    return out + "]}";
}

std::string hex(const std::string & bytes) {
    static const char * digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string piece(const llama_vocab * vocab, llama_token t) {
    std::vector<char> buf(64);
    int n = llama_token_to_piece(vocab, t, buf.data(), (int32_t) buf.size(), 0, true);
    if (n < 0) {
        buf.resize(-n);
        n = llama_token_to_piece(vocab, t, buf.data(), (int32_t) buf.size(), 0, true);
    }
    if (n < 0) die("llama_token_to_piece failed");
    return std::string(buf.data(), n);
}

llama_context * new_context(llama_model * model, const Options & o) {
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = o.n_ctx;
    cp.n_batch = o.n_ctx;
    cp.n_ubatch = o.n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = o.threads;
    cp.n_threads_batch = o.threads;
    cp.no_perf = true;
    if (o.alt) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    }
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) die("llama_init_from_model failed");
    return ctx;
}

}  // namespace

int main(int argc, char ** argv) {
    const Options o = parse_args(argc, argv);
    llama_log_set(quiet_log, nullptr);
    llama_backend_init();

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(o.model.c_str(), mp);
    if (!model) die("cannot load " + o.model);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    for (const std::string & prompt : o.prompts) {
        // tokenize
        std::vector<llama_token> toks(prompt.size() + 16);
        int n = llama_tokenize(vocab, prompt.data(), (int32_t) prompt.size(), toks.data(),
                               (int32_t) toks.size(), true, true);
        if (n < 0) {
            toks.resize(-n);
            n = llama_tokenize(vocab, prompt.data(), (int32_t) prompt.size(), toks.data(),
                               (int32_t) toks.size(), true, true);
        }
        if (n <= 0) die("tokenization failed");
        toks.resize(n);

        // greedy continuation
        std::vector<RowStats> steps;
        std::string text;
        {
            llama_context * ctx = new_context(model, o);
            std::vector<llama_token> prompt_toks = toks;
            if (llama_decode(ctx, llama_batch_get_one(prompt_toks.data(), (int32_t) prompt_toks.size())) != 0) {
                die("llama_decode(prompt) failed");
            }
            for (int step = 0; step < o.n_predict; ++step) {
                const float * logits = llama_get_logits_ith(ctx, -1);
                if (!logits) die("no logits");
                RowStats s = row_stats(logits, n_vocab, o.top_k);
                llama_token t = s.top1;
                steps.push_back(std::move(s));
                text += piece(vocab, t);
                if (step + 1 < o.n_predict && llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) {
                    die("llama_decode(token) failed");
                }
            }
            llama_free(ctx);
        }

        // teacher-forced logits at every prompt position
        std::vector<RowStats> positions;
        {
            llama_context * ctx = new_context(model, o);
            llama_batch batch = llama_batch_init(n, 0, 1);
            for (int i = 0; i < n; ++i) {
                batch.token[i] = toks[i];
                batch.pos[i] = i;
                batch.n_seq_id[i] = 1;
                batch.seq_id[i][0] = 0;
                batch.logits[i] = 1;
            }
            batch.n_tokens = n;
            if (llama_decode(ctx, batch) != 0) die("llama_decode(prompt, all logits) failed");
            for (int i = 0; i < n; ++i) {
                const float * logits = llama_get_logits_ith(ctx, i);
                if (!logits) die("no logits at prompt position");
                positions.push_back(row_stats(logits, n_vocab, o.top_k));
            }
            llama_batch_free(batch);
            llama_free(ctx);
        }

        std::string out = "{\"prompt_token_ids\": [";
        for (int i = 0; i < n; ++i) out += (i ? ", " : "") + std::to_string(toks[i]);
        out += "], \"greedy\": [";
        for (size_t i = 0; i < steps.size(); ++i) out += (i ? ", " : "") + stats_json(steps[i]);
        out += "], \"greedy_text_hex\": \"" + hex(text) + "\", \"prompt_positions\": [";
        for (size_t i = 0; i < positions.size(); ++i) out += (i ? ", " : "") + stats_json(positions[i]);
        out += "]}\n";
        std::fputs(out.c_str(), stdout);
        std::fflush(stdout);
    }

    llama_model_free(model);
    llama_backend_free();
    return 0;
}
