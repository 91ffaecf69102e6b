#!/bin/bash
# A real TF.js MobileNetV2-224 (nsfwjs@4.2.1, dist/esm/models/mobilenet_v2: a Keras LayersModel
# with uint8-quantized weights, 5 outputs) through lowbit ptq on natural-image crops, and the
# agreement of each result with the float model on 300 held-out crops (other photos than the
# calibration ones). Writes under $WORK (default /tmp/lowbit-mbv2-224). Run from the repo root
# after `pnpm build`; needs `apt-get install -y python3-skimage opencv-doc` for the photos.
#
#   bash tools/bench/mbv2-224.sh            # RTN W8A8 / W4A4 / W4A8, NWQ W4A4 with its default settings
#   ITERS=10 bash tools/bench/mbv2-224.sh   # NWQ with 10 iterations instead (a quick check)
#   ONLY=nwq bash tools/bench/mbv2-224.sh   # only the NWQ row (ONLY=rtn: only the RTN rows)
#   MODEL=mobilenet_v2_mid bash tools/bench/mbv2-224.sh  # nsfwjs's other MobileNetV2-224: a GraphModel
#                                           # (TF-Hub MobileNetV2 1.4, x·2 − 1 in the graph: inputs in [0, 1])
set -euo pipefail
WORK=${WORK:-/tmp/lowbit-mbv2-224}
ITERS=${ITERS:-}
ONLY=${ONLY:-all}
MODEL=${MODEL:-mobilenet_v2}
case "$MODEL" in
  mobilenet_v2) DIR=mbv2; RANGE=-1,1 ;;
  mobilenet_v2_mid) DIR=mid; RANGE=0,1 ;;
  *) echo "MODEL must be mobilenet_v2 or mobilenet_v2_mid, got '$MODEL'" >&2; exit 2 ;;
esac
mkdir -p "$WORK"
if [ ! -f "$WORK/$DIR/model.json" ]; then
  [ -d "$WORK/package" ] || (cd "$WORK" && npm pack nsfwjs@4.2.1 >/dev/null && tar xzf nsfwjs-4.2.1.tgz)
  node tools/models/extract-nsfwjs.mjs "$WORK/package/dist/esm/models/$MODEL" "$WORK/$DIR"
fi
[ -d "$WORK/photos" ] || node tools/data/make-photo-crops.mjs --out "$WORK/photos" --calib 256 --heldout 300 --seed 1
M="$WORK/$DIR/model.json"
run() { # name, ptq flags...
  local name=$DIR-$1; shift
  /usr/bin/time -v node apps/cli/dist/bin.js ptq --model "$M" --calib "$WORK/photos/calib" --heldout "$WORK/photos/heldout" --input-range "$RANGE" --out "$WORK/$name" --json "$@" > "$WORK/$name.log" 2>&1
  node apps/cli/dist/bin.js eval --model "$WORK/$name/model.json" --data "$WORK/photos/heldout" --input-range "$RANGE" --json > "$WORK/$name.eval.json"
  node -e '
    const fs = require("fs"); const [log, ev, name] = process.argv.slice(1);
    const text = fs.readFileSync(log, "utf8"); const r = JSON.parse(text.split("\n").find((l) => l.startsWith("{")));
    const e = JSON.parse(fs.readFileSync(ev, "utf8"));
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text)[1] / 2 ** 20;
    const it = r.reconstruction ? r.reconstruction.iterations : 0;
    const sp = r.speed ? `${r.speed.secondsPerIteration.toFixed(2)} s (${r.speed.overFloor.toFixed(1)}× floor)` : "—";
    console.log(`| ${name} | ${(100 * e.agreement.top1).toFixed(2)}% | ${(100 * r.heldOutAgreement).toFixed(2)}% | ${(100 * r.calibrationAgreement).toFixed(2)}% | ${it || "—"} | ${(r.seconds / 60).toFixed(1)} min | ${sp} | ${r.threads} | ${r.memory.microBatch ?? "—"} | ${r.memory.cacheMB} MB${r.memory.notes.length ? " (" + r.memory.notes[0].split(":").slice(1).join(":").trim().slice(0, 40) + "…)" : ""} | ${rss.toFixed(2)} GB | ${(r.size.fp32Bytes / 1e6).toFixed(2)} → ${(r.size.quantizedBytes / 1e6).toFixed(2)} MB |`);
  ' "$WORK/$name.log" "$WORK/$name.eval.json" "$name"
}
echo "| run | held-out top-1 agreement (lowbit eval) | held-out (ptq report) | calibration agreement | iterations | end to end | s / iteration | threads | micro-batch | cache budget | peak RSS | layer weights |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
if [ "$ONLY" != nwq ]; then
  run rtn-w8a8 --method rtn --wbits 8 --abits 8
  run rtn-w4a4 --method rtn --wbits 4 --abits 4
  run rtn-w4a8 --method rtn --wbits 4 --abits 8
fi
# the default run: NWQ W4A4, the preset's iterations scaled to the model, threads = cores
[ "$ONLY" != rtn ] && run nwq-w4a4 ${ITERS:+--iters "$ITERS"}
