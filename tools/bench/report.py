#!/usr/bin/env python3
"""report.py — turns the JSON results of tools/bench/report into docs/BENCHMARKS.md and gnuplot
scripts (one per figure, run by the bash driver). Standard library only. Every number printed here
comes from a JSON file written by `pagedvk bench ... --json`; the command that made it sits beside
each table and figure."""
import argparse
import json
import os
import platform
import subprocess

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--out", required=True)
p.add_argument("--figs", required=True)
p.add_argument("--mode", default="quick")
p.add_argument("--elapsed", type=int, default=0)
a = p.parse_args()


def load(name):
    path = os.path.join(a.data, name + ".json")
    if not os.path.exists(path):
        return None, None
    with open(path) as f:
        js = json.load(f)
    with open(os.path.join(a.data, name + ".cmd")) as f:
        cmd = f.read().strip()
    return js, cmd


def cfg(js, label):
    return next(c for c in js["configs"] if c["label"] == label)


md = []
gp = []  # (name, script)


def fig(name, script):
    png = os.path.join(a.figs, name + ".png")
    gp.append((name, "set terminal pngcairo size 900,420 font ',10'\nset output '%s'\n%s" % (png, script)))
    md.append("![%s](bench/%s.png)\n" % (name, name))


def cmdblock(*cmds):
    md.append("```sh\n" + "\n".join(cmds) + "\n```\n")


def pct(x):
    return "%.1f%%" % (100 * x)


def verdict(ok):
    return "**met**" if ok else "**not met**"


def sh(cmd):
    try:
        return subprocess.check_output(cmd, shell=True, text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:
        return "?"


models = sorted(f[6:-4] for f in os.listdir(a.data) if f.startswith("model-") and f.endswith(".cmd"))
model_cmds = [open(os.path.join(a.data, "model-%s.cmd" % m)).read().strip() for m in models]

md.append("# pagedvk benchmarks\n")
md.append(
    "Written by `tools/bench/report%s` (mode **%s**, %d s of benchmark runs). Machine: %s, %s CPU cores, "
    "Vulkan device: %s (lavapipe's compute threads: `LP_NUM_THREADS=%s`, %s). "
    "**The machine is shared with other engineers' builds and tests and is noisy**: "
    "every figure is the median of 3 or more runs (each command says how many), ratios are taken within a run "
    "(paged and contiguous run back to back, interleaved) and then the median; absolute tokens/s and the "
    "tokens/s ratios move by ±20-30%% between reports (single runs of the standard mixed workload read "
    "1.7-2.6× within one hour of 2026-12-06, medians of 5 in one process 1.9-2.1×; the host's CPU steal, not "
    "this machine's load, moves them).\n"
    % (" --quick" if a.mode == "quick" else "", a.mode, a.elapsed, platform.machine(), os.cpu_count(),
       sh("build/pagedvk info 2>/dev/null | sed -n 's/^  \\* [0-9]*: //p' | head -1"),
       os.environ.get("LP_NUM_THREADS", str(min(16, 2 * (os.cpu_count() or 1)))),
       "set in the environment" if "LP_NUM_THREADS" in os.environ else "the `pagedvk` command's default: twice the CPUs")
)
if a.mode == "quick":
    md.append(
        "These numbers come from `--quick` on a shared 2-core machine with lavapipe (Mesa's CPU Vulkan driver): "
        "the small model below and fewer requests than the full report. Lavapipe runs the shaders on the same two "
        "cores as everything else, so batching helps far less than on a GPU (see *concurrency*).\n"
    )
md.append("Models (synthetic weights, `build/mkmodel`):\n")
cmdblock(*model_cmds)
md.append(
    "Every scenario queues all its requests at once (an offline burst) and steps the engine until idle; the clock "
    "runs from the first request to idle (model load excluded). Outputs are greedy with `ignore_eos`, so every "
    "request produces exactly its planned number of tokens. TTFT = first token event − submit; ITL = gaps between "
    "consecutive token events of a request (both from the token callback). Percentiles are nearest-rank over all "
    "requests. Run any command below without `--json` for a readable table.\n"
)

targets = []

# ---- mixed ----------------------------------------------------------------------------------------
for name, title in (("mixed", "Mixed workload: paged vs contiguous at the same KV memory"),
                    ("mixed-decode", "Mixed workload, decode-heavy variant")):
    js, cmd = load(name)
    if not js:
        continue
    pg, ct = cfg(js, "paged"), cfg(js, "contiguous")
    md.append("## %s\n" % title)
    md.append(
        "%d requests; %s. `max_model_len` %d; the KV pool (%.1f MiB, %d blocks of %d) holds 4 contiguous "
        "sequences' worth of slots (`--contig-seqs 4`, the default), so the contiguous baseline — each sequence "
        "reserves `max_model_len` slots at admission — is memory-bound. KV utilization is sampled after every step: "
        "paged = stored tokens ÷ slots of the blocks in use; contiguous = stored tokens ÷ (running sequences × "
        "max_model_len). Every run starts its clock after the engine is created and warmed up (each shader "
        "pipeline run once with each of its bindings, as `pagedvk serve` does at start; on lavapipe a first use "
        "is an LLVM compile of up to 0.8 s).\n"
        % (pg["requests"], js["distribution"], js["max_model_len"], js["kv_mem"] / 1048576.0,
           pg["blocks_total"], pg["block_size"])
    )
    cmdblock(cmd)
    md.append("| layout | peak concurrent seqs | KV util mean | KV util peak | output tok/s | TTFT p50 | TTFT p99 | "
              "ITL p50 | ITL p99 | preemptions | wall |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in (pg, ct):
        md.append("| %s | %d | %s | %s | %.1f | %.0f ms | %.0f ms | %.1f ms | %.1f ms | %d | %.2f s |" % (
            c["label"], c["peak_concurrent_seqs"], pct(c["kv_util_reserved_mean"]), pct(c["kv_util_reserved_peak"]),
            c["output_tokens_per_s"], c["ttft_p50_ms"], c["ttft_p99_ms"], c["itl_p50_ms"], c["itl_p99_ms"],
            c["preemptions"], c["wall_s"]))
    md.append("\npaged ÷ contiguous (median of per-run ratios): **%.2f×** peak concurrent sequences, **%.2f×** "
              "output tokens/s.\n" % (js["ratio_peak_seqs"], js["ratio_tokens_per_s"]))
    d = "\n".join('"%s" %g %g %g' % (c["label"], c["peak_concurrent_seqs"], 100 * c["kv_util_reserved_mean"],
                                        c["output_tokens_per_s"]) for c in (pg, ct))
    fig(name, """$d << EOD
%s
EOD
set multiplot layout 1,3 title "%s (median of %d runs)"
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
unset key
set title "peak concurrent sequences"
plot $d using 2:xtic(1) lc rgb "#3366aa"
set title "KV utilization, mean (%%)"
set yrange [0:100]
plot $d using 3:xtic(1) lc rgb "#33aa66"
set yrange [0:*]
set title "output tokens/s"
plot $d using 4:xtic(1) lc rgb "#aa6633"
unset multiplot
""" % (d, title.split(":")[0], js["runs"]))
    if name == "mixed":
        targets.append(("paged KV utilization ≥ 95% on the mixed workload (contiguous beside it)",
                        pg["kv_util_reserved_mean"] >= 0.95,
                        "paged %s mean (%s peak); contiguous %s mean" % (
                            pct(pg["kv_util_reserved_mean"]), pct(pg["kv_util_reserved_peak"]),
                            pct(ct["kv_util_reserved_mean"]))))
        targets.append(("≥ 2.5× the contiguous baseline's peak concurrent sequences at equal KV memory",
                        js["ratio_peak_seqs"] >= 2.5, "%.2f× (%d vs %d)" % (
                            js["ratio_peak_seqs"], pg["peak_concurrent_seqs"], ct["peak_concurrent_seqs"])))
        targets.append(("≥ 2× the contiguous baseline's output tokens/s at equal KV memory",
                        js["ratio_tokens_per_s"] >= 2, "%.2f× (%.1f vs %.1f tokens/s)" % (
                            js["ratio_tokens_per_s"], pg["output_tokens_per_s"], ct["output_tokens_per_s"])))
    else:
        targets.append(("(decode-heavy variant) ≥ 2× output tokens/s", js["ratio_tokens_per_s"] >= 2,
                        "%.2f× (%.1f vs %.1f tokens/s); peak seqs %.2f×" % (
                            js["ratio_tokens_per_s"], pg["output_tokens_per_s"], ct["output_tokens_per_s"],
                            js["ratio_peak_seqs"])))

# ---- concurrency --------------------------------------------------------------------------------------
js, cmd = load("concurrency")
conc_gain = None
if js:
    cs = js["configs"]
    base = cs[0]["output_tokens_per_s"] or 1
    conc_gain = max(c["output_tokens_per_s"] for c in cs) / base
    md.append("## Concurrency: output tokens/s vs --max-num-seqs\n")
    md.append("Per point max(2c, 8) requests of %d prompt + %d output tokens; the KV pool is sized so memory never "
              "limits; only `--max-num-seqs` changes.\n" % (js["prompt_len"], js["output_len"]))
    cmdblock(cmd)
    md.append("| max-num-seqs | requests | output tok/s | × c=1 | ITL p50 | mean step |")
    md.append("|---:|---:|---:|---:|---:|---:|")
    for c in cs:
        md.append("| %d | %d | %.1f | %.2f× | %.1f ms | %.2f ms |" % (
            c["max_num_seqs"], c["requests"], c["output_tokens_per_s"], c["output_tokens_per_s"] / base,
            c["itl_p50_ms"], c["step_ms_mean"]))
    md.append("")
    d = "\n".join("%d %g" % (c["max_num_seqs"], c["output_tokens_per_s"]) for c in cs)
    fig("concurrency", """$d << EOD
%s
EOD
set title "output tokens/s vs max concurrency (median of %d runs)"
set logscale x 2
set xlabel "--max-num-seqs"
set ylabel "output tokens/s"
set grid
set yrange [0:*]
unset key
plot $d using 1:2 with linespoints lw 2 pt 7 lc rgb "#3366aa"
""" % (d, js["runs"]))
    md.append("Throughput stops growing once the two CPU cores are busy with arithmetic (here at about %.1f× the "
              "batch-1 rate); this curve bounds what more concurrency can buy in *mixed*.\n" % conc_gain)

# ---- against llama.cpp --------------------------------------------------------------------------------
js, cmd = load("concurrency-q4k")
if js:
    pts = {c["max_num_seqs"]: c for c in js["configs"]}
    one, many = pts.get(1), pts.get(16) or pts[max(pts)]
    md.append("## The ~125M-parameter Q4_K model, against llama.cpp\n")
    md.append("The developers' brief measured llama.cpp on lavapipe with a 125M-parameter Q4_K llama model: its Vulkan "
              "backend decodes 2.2 tokens/s (3.5 with 16 sequences), and llama-server *on the CPU* serves 32 clients "
              "at about 470 tokens/s. Those are the brief's figures, not measured here; `%s` has that shape (12 "
              "layers, n_embd 768, Q4_K with a Q6_K output matrix, 32000-token vocabulary, %.0fM parameters). "
              "Output tokens/s as in *concurrency* (32-token prompts included in the wall time):\n"
              % (os.path.basename(js["model"]), js.get("model_params", 0) / 1e6))
    cmdblock(cmd)
    md.append("| max-num-seqs | output tok/s | ITL p50 | llama.cpp Vulkan (brief) | pagedvk ÷ llama.cpp Vulkan |")
    md.append("|---:|---:|---:|---:|---:|")
    for c, ref in ((one, 2.2), (many, 3.5)):
        if c:
            md.append("| %d | %.1f | %.1f ms | %.1f | %.1f× |" % (c["max_num_seqs"], c["output_tokens_per_s"],
                                                             c["itl_p50_ms"], ref, c["output_tokens_per_s"] / ref))
    best = max(c["output_tokens_per_s"] for c in js["configs"])
    md.append("\nAgainst llama-server on the CPU (~470 tokens/s with 32 clients) the best point here, %.1f tokens/s, "
              "is %.0f%% of it: on two cores lavapipe's matmuls reach 20-40 GFLOP/s (docs/KERNELS.md), well below "
              "llama.cpp's hand-written CPU kernels; the gap is the tiled matrix-matrix kernel and integer dot "
              "products that the CPU-shaped paths do not have yet.\n" % (best, best / 470 * 100))

# ---- sharing ------------------------------------------------------------------------------------------
js, cmd = load("sharing")
if js:
    md.append("## Sharing: parallel sampling and beam search\n")
    bs = js["block_size"]
    md.append(
        "One request of %d prompt + %d output tokens (temperature 0.8, seeded) with n parallel samples or beam "
        "width 4, against the same prompt sent as k unrelated requests with the prefix cache off (no sharing). Peak "
        "KV blocks in use, sampled after every step. *Ideal shared* = the prompt's %d full blocks once + each "
        "sample's own blocks (its copy of the partly filled prompt block, copied on write, then its output).\n"
        % (js["prompt_len"], js["output_len"], js["prompt_len"] // bs))
    cmdblock(cmd)
    md.append("| case | peak blocks, shared | peak blocks, separate | saved | ideal shared | separate, computed | "
              "prompt stored once |")
    md.append("|---|---:|---:|---:|---:|---:|---|")
    for c in js["cases"]:
        md.append("| %s | %d | %d | %s | %d | %d | %s |" % (
            c["case"], c["peak_blocks_shared"], c["peak_blocks_separate"], pct(c["saving"]),
            c["ideal_shared_blocks"], c["separate_blocks_computed"], "yes" if c["prompt_stored_once"] else "no"))
    md.append("")
    d = "\n".join('"%s" %g %g' % (c["case"], c["peak_blocks_shared"], c["peak_blocks_separate"]) for c in js["cases"])
    fig("sharing", """$d << EOD
%s
EOD
set title "peak KV blocks: shared vs separate requests (median of %d runs)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.7 border -1
set grid ytics
set yrange [0:*]
set ylabel "KV blocks"
set key top left
plot $d using 2:xtic(1) title "shared (one request)" lc rgb "#3366aa", '' using 3 title "separate requests" lc rgb "#aa6633"
""" % (d, js["runs"]))
    n4 = next(c for c in js["cases"] if c["case"] == "n=4")
    targets.append(("n = 4 stores the prompt once", n4["prompt_stored_once"],
                    "peak %d blocks with sharing (ideal %d) vs %d for 4 separate requests" % (
                        n4["peak_blocks_shared"], n4["ideal_shared_blocks"], n4["peak_blocks_separate"])))

# ---- KV element type: f16 vs q8_0 -----------------------------------------------------------------------
js, cmd = load("kv-type")
if js:
    f16, q8 = cfg(js, "f16"), cfg(js, "q8_0")
    md.append("## KV element type: f16 vs q8_0 at the same KV memory\n")
    md.append("The mixed workload (%d requests; %s; `--max-num-seqs 128`), paged, the same KV memory (%.1f MiB) "
              "for an f16 pool and a q8_0 pool (`--kv-type q8_0`: int8 K/V in blocks of 32 with an f16 scale). "
              "The model's heads are %d wide, so a q8_0 head row costs %d bytes per 32 values against f16's 64 (one "
              "4-byte scale word per row of up to 64 values). Attention = the attention stage's device time "
              "(`kernel_times`) per decode-only step and per step with prompt rows; the q8_0 steps carry more "
              "sequences, so these are per step, not per sequence.\n"
              % (f16["requests"], js["distribution"], js["kv_mem"] / 1048576.0,
                 js["head_dim"], 32 + (4 if js["head_dim"] == 32 else 2)))
    cmdblock(cmd)
    md.append("| KV type | blocks | peak concurrent seqs | output tok/s | attention / decode step | attention / prompt step | "
              "TTFT p50 | ITL p50 | preemptions |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in (f16, q8):
        md.append("| %s | %d | %d | %.1f | %.3f ms | %.2f ms | %.0f ms | %.1f ms | %d |" % (
            c["label"], c["blocks_total"], c["peak_concurrent_seqs"], c["output_tokens_per_s"],
            c.get("attention_ms_per_decode_step", 0), c.get("attention_ms_per_prompt_step", 0), c["ttft_p50_ms"],
            c["itl_p50_ms"], c["preemptions"]))
    md.append("\nq8_0 ÷ f16 (median of per-run ratios): **%.2f×** blocks, **%.2f×** peak concurrent sequences, "
              "**%.2f×** output tokens/s.\n" % (js["ratio_blocks"], js["ratio_peak_seqs"], js["ratio_tokens_per_s"]))
lg = os.path.join(a.data, "kv-logits.md")
if os.path.exists(lg):
    md.append("### How far q8_0 KV moves the logits\n")
    md.append("The CPU reference twice per prompt (random tokens after BOS): K/V rounded to f16 as they enter its "
              "cache (an f16 pool's values) and quantized to q8_0 (a q8_0 pool's: the engine equals that reference "
              "token for token, tests/engine). The q8_0 run is fed the f16 run's greedy tokens (teacher forcing): "
              "|Δlogit| over the whole vocabulary at every step (max, mean) and whether the top token is the same; "
              "then a free q8_0 greedy run: the share of its tokens equal to the f16 run's, and the mean step of the "
              "first difference (= the generated length when none). llama.cpp's own q8_0 cache was not run (no "
              "llama.cpp binary here). The models' weights are random and scaled so that every mechanism moves the greedy ids "
              "within a few steps: any perturbation, an f16 rounding included, sends their free runs apart early, so "
              "the forced columns are the measure of the quantization and the free run a lower bound.\n")
    with open(os.path.join(a.data, "kv-logits.cmd")) as f:
        cmdblock(f.read().strip())
    with open(lg) as f:
        md.append(f.read().strip() + "\n")

# ---- block size ---------------------------------------------------------------------------------------
js, cmd = load("block-size")
if js:
    cs = js["configs"]
    md.append("## Block size: attention time and slot waste\n")
    md.append("The mixed workload (%d requests; %s), paged, the same KV memory (%.1f MiB) for every block size. "
              "Attention = the device time of the attention stage (both layers' paged attention kernels, timestamp "
              "queries: the engines run with `kernel_times`), per decode-only step and per step with prompt rows. "
              "Waste = reserved but empty slots in partly filled last blocks, mean over steps.\n"
              % (cs[0]["requests"], js["distribution"], js["kv_mem"] / 1048576.0))
    cmdblock(cmd)
    md.append("| block size | blocks | attention / decode step | attention / prompt step | mean step | output tok/s | "
              "waste (slots) | waste (share) | peak seqs | preemptions |")
    md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in cs:
        md.append("| %d | %d | %.3f ms | %.2f ms | %.2f ms | %.1f | %.1f | %s | %d | %d |" % (
            c["block_size"], c["blocks_total"], c.get("attention_ms_per_decode_step", 0),
            c.get("attention_ms_per_prompt_step", 0), c["step_ms_mean"], c["output_tokens_per_s"],
            c["waste_slots_mean"], pct(1 - c["kv_util_mean"]), c["peak_concurrent_seqs"], c["preemptions"]))
    md.append("")
    d = "\n".join("%d %g %g" % (c["block_size"], c.get("attention_ms_per_decode_step", 0),
                                 100 * (1 - c["kv_util_mean"])) for c in cs)
    fig("block-size", """$d << EOD
%s
EOD
set title "block size: attention time and slot waste (median of %d runs)"
set logscale x 2
set xtics (8, 16, 32, 64)
set xrange [6:80]
set xlabel "block size (tokens)"
set ylabel "attention per decode-only step (ms)"
set y2label "waste (%% of reserved slots)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
set key top left
plot $d using 1:2 axes x1y1 with linespoints lw 2 pt 7 lc rgb "#3366aa" title "attention", \\
     $d using 1:3 axes x1y2 with linespoints lw 2 pt 5 lc rgb "#aa3333" title "waste"
""" % (d, js["runs"]))

# ---- prefix -------------------------------------------------------------------------------------------
js, cmd = load("prefix")
if js:
    on, off = cfg(js, "prefix cache on"), cfg(js, "prefix cache off")
    md.append("## Prefix caching: a shared system prompt\n")
    md.append("%d requests = one %d-token system prompt + 16..48 tokens of their own, %d output tokens each, all "
              "queued at once.\n" % (on["requests"], js["system_prompt_len"], js["output_len"]))
    cmdblock(cmd)
    md.append("| prefix cache | prefill tokens computed | cache hit tokens | TTFT p50 | TTFT p99 | wall |")
    md.append("|---|---:|---:|---:|---:|---:|")
    for c in (on, off):
        md.append("| %s | %d | %d | %.0f ms | %.0f ms | %.2f s |" % (
            c["label"].replace("prefix cache ", ""), c["prompt_tokens_computed"], c["prefix_cache_hit_tokens"],
            c["ttft_p50_ms"], c["ttft_p99_ms"], c["wall_s"]))
    md.append("\noff ÷ on: **%.2f×** prefill tokens computed, **%.2f×** TTFT p50.\n" % (
        js["ratio_prefill_off_on"], js["ratio_ttft_p50_off_on"]))
    d = "\n".join('"%s" %g %g' % (c["label"].replace("prefix cache ", "cache "), c["prompt_tokens_computed"],
                                  c["ttft_p50_ms"]) for c in (on, off))
    fig("prefix", """$d << EOD
%s
EOD
set multiplot layout 1,2 title "prefix caching (median of %d runs)"
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
unset key
set title "prefill tokens computed"
plot $d using 2:xtic(1) lc rgb "#3366aa"
set title "TTFT p50 (ms)"
plot $d using 3:xtic(1) lc rgb "#aa6633"
unset multiplot
""" % (d, js["runs"]))

# ---- roofline -----------------------------------------------------------------------------------------
roof = [(n, ) + load(n) for n in ("roofline", "roofline-f16", "roofline-q4k")]
roof = [r for r in roof if r[1]]
if roof:
    md.append("## Roofline: decode at batch 1 vs the weight-streaming bound\n")
    md.append("A decode step must read every weight but the embedding table once. Bound = those bytes ÷ host memory "
              "copy bandwidth (a timed 256 MiB memcpy on one thread per core, counted as read + write). The public "
              "API has no device copy, and lavapipe's device memory is host memory, so the memcpy is the CPU "
              "device's proxy. Measured = ITL p50 of a single request.\n")
    cmdblock(*[r[2] for r in roof])
    md.append("| model | weights read per token | copy bandwidth | bound per token | measured per token | "
              "measured ÷ bound |")
    md.append("|---|---:|---:|---:|---:|---:|")
    for name, js, cmd in roof:
        md.append("| %s | %.1f MiB | %.2f GB/s | %.3f ms | %.2f ms | %.1f× |" % (
            os.path.basename(js["model"]), js["decode_weight_bytes"] / 1048576.0, js["copy_gb_per_s"],
            js["bound_ms"], js["decode_ms_per_token"], js["ratio_to_bound"]))
    md.append("")

# ---- constrained decoding -----------------------------------------------------------------------------
js, cmd = load("grammar")
if js:
    ms = js["ms_per_token"]
    md.append("## Constrained decoding: a JSON schema at batch %d on a %s-token vocabulary\n"
              % (js["requests"], "{:,}".format(js["vocab"])))
    md.append(
        "%d requests of %d random prompt tokens and %d output tokens decode together, without a grammar and under "
        "a JSON schema (an array of at least 1000 records: a string of at most 16 characters, an integer, a number, "
        "a list of at most 4 enum values, a boolean — so every request makes all its tokens and the batch stays "
        "full), sampled (T 0.8, seeded) and greedy. The model has random weights and a %s-token vocabulary, so "
        "the output projection and the masks have their real width. Decode ms per output token = decode-step "
        "time ÷ the tokens those steps made; medians of %d run%s, the four cases interleaved.\n"
        % (js["requests"], js["prompt_len"], js["output_len"], "{:,}".format(js["vocab"]), js["runs"],
           "" if js["runs"] == 1 else "s"))
    cmdblock(cmd)
    md.append("| case | decode ms per output token | ITL p50 ms | output tokens |")
    md.append("|---|---:|---:|---:|")
    for label in ("sampled, no grammar", "sampled, json schema", "greedy, no grammar", "greedy, json schema"):
        c = cfg(js, label)
        md.append("| %s | %.2f | %.1f | %d |" % (label, ms[label], c["itl_p50_ms"], c["output_tokens"]))
    md.append("")
    rs, rg = 1 + js["overhead_sampled"], 1 + js["overhead_greedy"]
    md.append(
        "Constrained ÷ unconstrained per output token: **sampled %.2f× (%+.1f%%), greedy %.2f× (%+.1f%%)**; "
        "target ≤ 1.20×, %s. What makes it: the unconstrained choice is tried first and kept when the grammar "
        "allows it (exact: docs/GRAMMAR.md); a rejected one is redrawn among the allowed tokens only; requests "
        "with the same schema share the compiled grammar and its masks; the mask walk remembers (state, byte) "
        "transitions. Greedy pays more because the unconstrained greedy rows need no host work at all (the "
        "device's argmax), while a constrained row checks the argmax against the grammar and, when a random "
        "model's choice is rejected, computes a mask; a trained model's choices are mostly allowed, so random "
        "weights are the worst case for the first try.\n"
        % (rs, 100 * (rs - 1), rg, 100 * (rg - 1), verdict(max(rs, rg) <= 1.2).replace("*", "")))
    targets.append(("constrained decoding (JSON schema) ≤ 1.2× unconstrained per output token at batch %d on a "
                    "%s-token vocabulary" % (js["requests"], "{:,}".format(js["vocab"])), max(rs, rg) <= 1.2,
                    "sampled %.2f×, greedy %.2f×" % (rs, rg)))

# ---- findings: what the numbers above say about the ratio and about prefill ----------------------------
mx, _ = load("mixed")
cc, _ = load("concurrency")
pf, _ = load("prefix")
notes = []
mxd, _ = load("mixed-decode")
if mx and cc:
    pts = {c["max_num_seqs"]: c["output_tokens_per_s"] for c in cc["configs"]}
    ct = cfg(mx, "contiguous")["peak_concurrent_seqs"]
    lo = pts.get(int(ct)) or pts.get(min(pts, key=lambda k: abs(k - ct)))
    hi = max(pts.values())
    pg_, ck_ = cfg(mx, "paged"), cfg(mx, "contiguous")
    decode_part = ("the decode-heavy variant %.2f×, " % mxd["ratio_tokens_per_s"]) if mxd else ""
    step1 = next((c["step_ms_mean"] for c in cc["configs"] if c["max_num_seqs"] == 1), 0)
    split = ""
    if "prefill_steps_s" in pg_ and pg_.get("decode_steps_s", 0) > 0:
        split = (
            " Where the time goes (engine step time, `prefill_steps_s` / `decode_steps_s` in the JSON: steps "
            "that computed prompt tokens, decodes riding along, and decode-only steps): paged %.2f s + %.2f s, "
            "contiguous %.2f s + %.2f s. The prompt part is the same work in both layouts; the decode-only part "
            "is %.2f× shorter paged, because a step has a fixed cost (%.2f ms at one sequence in *concurrency*: "
            "on lavapipe each of a step's ~20 dispatches waits for its worker threads) that %d sequences share "
            "instead of %d. So on this CPU device the ratio grows when the work both layouts do gets cheaper "
            "(prefill, per-token arithmetic) and shrinks when the fixed cost does: the kernels of 2026-12-06 "
            "(prompt tiles and decode pairs in attention, register-resident matmul accumulators; "
            "docs/KERNELS.md) cut the former and took it from 1.76× to ~2.1× in same-session A/B runs."
            % (pg_["prefill_steps_s"], pg_["decode_steps_s"], ck_["prefill_steps_s"], ck_["decode_steps_s"],
               ck_["decode_steps_s"] / pg_["decode_steps_s"], step1, pg_["peak_concurrent_seqs"],
               ck_["peak_concurrent_seqs"]))
    notes.append(
        "**Output tokens/s, paged vs contiguous.** Paging pays in batched decode: in *concurrency* the best point "
        "is %.1f tokens/s against %.1f at %d sequences (the contiguous peak), %.2f×; %sthe standard mixed "
        "workload %.2f×. Both layouts compute every prompt (%d prompt tokens; paged %d, with %d recompute "
        "preemptions) for %d output tokens.%s On a GPU, where a decode step costs about the same for 1 or 64 "
        "sequences and prefill is cheap per token, the concurrency gain turns into throughput more directly."
        % (hi, lo, ct, hi / lo if lo else 0, decode_part, mx["ratio_tokens_per_s"], ck_["prompt_tokens_computed"],
           pg_["prompt_tokens_computed"], pg_["preemptions"], pg_["output_tokens"], split))
if pf:
    off = cfg(pf, "prefix cache off")
    per = off["wall_s"] / max(off["prompt_tokens_computed"], 1) * 1e3
    notes.append(
        "**Prefill is the engine's slow part here**: with the prefix cache off, prefill runs at about %.2f ms "
        "per prompt token on the small model (wall ÷ prompt tokens computed, *prefix*, %d-token system "
        "prompts). On CPU devices prompt chunks go through attention in tiles (a tile's rows share each key's "
        "fetch) and the matmul keeps 8 rows x 16 tokens of accumulators in registers; what bounds both now is "
        "lavapipe's texel fetch, a call that loads each lane's 16 bytes separately even when every lane wants "
        "the same activations (docs/KERNELS.md). With 1000-token contexts attention is about a third of the "
        "prefill time (measured by leaving stages out, not by `PAGEDVK_KERNEL_TIMES`, whose per-stage "
        "timestamps overstate the small stages on lavapipe)." % (per, pf.get("system_prompt_len", 0)))
if notes:
    md.append("## Findings\n")
    md.extend(n + "\n" for n in notes)

# ---- targets ------------------------------------------------------------------------------------------
md.insert(6, "## Targets\n\n| target | result | measured |\n|---|---|---|\n" + "\n".join(
    "| %s | %s | %s |" % (t, verdict(ok), m) for t, ok, m in targets) + "\n")

with open(a.out, "w") as f:
    f.write("\n".join(md) + "\n")
for name, script in gp:
    with open(os.path.join(a.data, name + ".gp"), "w") as f:
        f.write(script)
