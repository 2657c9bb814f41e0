/// The page `emo serve` shows at `/`: upload a file or record from the microphone, then see the class
/// probabilities as bars, the waveform with the occlusion attribution over time, the top feature attributions and
/// each feature group's share. Plain HTML + SVG + a little JavaScript; no build step, no external requests.
enum WebPage {
    /// The page; `hasSample` adds a "try the sample" button (and `?sample=1` runs it on load).
    static func html(model: String, hasSample: Bool) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>EmoKit · \(escape(model))</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #1d1d1f; padding: 0 1rem; }
        h1 { font-size: 1.4rem; margin: 0 0 .2rem; } .muted { color: #666; font-size: .9rem; }
        .panel { border: 1px solid #ddd; border-radius: 8px; padding: 1rem; margin: 1rem 0; }
        button { font: inherit; padding: .35rem .9rem; margin-right: .5rem; }
        #status { margin-left: .5rem; } .error { color: #b00020; }
        svg text { font: 12px system-ui, sans-serif; }
        </style></head><body>
        <h1>EmoKit: emotion in speech</h1>
        <div class="muted" id="card">model \(escape(model))</div>
        <div class="panel">
          <input type="file" id="file" accept="audio/*,video/*">
          <button id="send">Classify</button>
          <button id="record">Record</button>
          \(hasSample ? "<button id=\"sample\">Try the sample</button>" : "")
          <span id="status" class="muted"></span>
        </div>
        <div class="panel" id="result" hidden>
          <h2 style="font-size:1.1rem;margin:0">Prediction: <span id="predicted"></span></h2>
          <svg id="bars" width="100%" height="10"></svg>
          <h3 style="font-size:1rem">When in the clip (probability lost when each window is silenced)</h3>
          <svg id="wave" width="100%" height="140" viewBox="0 0 900 140" preserveAspectRatio="none"></svg>
          <h3 style="font-size:1rem">Which features (Integrated Gradients)</h3>
          <svg id="features" width="100%" height="10"></svg>
          <div id="modalities" class="muted"></div>
        </div>
        <script>
        const $ = id => document.getElementById(id);
        const NS = "http://www.w3.org/2000/svg";
        function el(name, attrs, text) { const e = document.createElementNS(NS, name); for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }
        function status(text, error) { $("status").textContent = text; $("status").className = error ? "error" : "muted"; }
        fetch("/v1/model").then(r => r.json()).then(m => {
          $("card").textContent = m.name + " · " + m.classes.length + " classes · " + m.evaluation +
            " · test accuracy " + (100 * m.test_accuracy).toFixed(1) + " %";
        }).catch(() => {});
        async function classify(blob) {
          status("classifying…");
          $("result").hidden = true;
          try {
            const win = new URLSearchParams(location.search).get("window");
            const r = await fetch("/v1/predict?explain=occlusion" + (win ? "&window=" + encodeURIComponent(win) : ""), { method: "POST", body: blob,
              headers: { "Content-Type": blob.type || "application/octet-stream" } });
            const answer = await r.json();
            if (!r.ok) { status(answer.error || ("HTTP " + r.status), true); return; }
            show(answer);
            status("done (" + (answer.duration_s || 0).toFixed(2) + " s of audio)");
          } catch (e) { status(String(e), true); }
        }
        function show(a) {
          $("predicted").textContent = a.predicted;
          const probs = Object.entries(a.probabilities).sort((x, y) => y[1] - x[1]);
          const bars = $("bars"); bars.innerHTML = ""; bars.setAttribute("height", probs.length * 24 + 6);
          probs.forEach(([name, p], i) => {
            bars.appendChild(el("text", { x: 0, y: i * 24 + 17 }, name));
            bars.appendChild(el("rect", { class: "bar", x: 110, y: i * 24 + 4, width: Math.max(1, p * 600), height: 18,
              fill: name === a.predicted ? "#d2603a" : "#8aa4c8" }));
            bars.appendChild(el("text", { x: 118 + p * 600, y: i * 24 + 17 }, (100 * p).toFixed(1) + " %"));
          });
          const e = a.explanation || {};
          const wave = $("wave"); wave.innerHTML = "";
          if (e.occlusion && e.waveform) {
            const occ = e.occlusion.values, peak = Math.max(1e-9, ...occ.map(Math.abs)), w = 900 / occ.length;
            occ.forEach((v, i) => wave.appendChild(el("rect", { class: "occlusion", x: i * w, y: 0, width: w + 0.5, height: 140,
              fill: v >= 0 ? "#d2603a" : "#3a7bd2", "fill-opacity": (0.65 * Math.abs(v) / peak).toFixed(3) })));
            const lo = e.waveform.min, hi = e.waveform.max, amp = Math.max(1e-9, ...hi.map(Math.abs), ...lo.map(Math.abs));
            let d = "";
            hi.forEach((v, i) => { d += (i ? "L" : "M") + (i * 900 / hi.length).toFixed(1) + "," + (70 - 65 * v / amp).toFixed(1); });
            for (let i = lo.length - 1; i >= 0; i--) d += "L" + (i * 900 / lo.length).toFixed(1) + "," + (70 - 65 * lo[i] / amp).toFixed(1);
            wave.appendChild(el("path", { d: d + "Z", fill: "#333", "fill-opacity": "0.55" }));
          }
          const feats = $("features"); feats.innerHTML = "";
          const list = e.features || [], top = Math.max(1e-9, ...list.map(f => Math.abs(f.value)));
          feats.setAttribute("height", list.length * 20 + 6);
          list.forEach((f, i) => {
            const len = 250 * Math.abs(f.value) / top;
            feats.appendChild(el("text", { x: 0, y: i * 20 + 15 }, f.group + " · " + f.name));
            feats.appendChild(el("rect", { class: "feature", x: f.value >= 0 ? 620 : 620 - len, y: i * 20 + 4, width: Math.max(1, len), height: 14,
              fill: f.value >= 0 ? "#d2603a" : "#3a7bd2" }));
          });
          const shares = Object.entries(e.modalities || {});
          $("modalities").textContent = shares.length ? "Share of the attribution: " +
            shares.map(([g, s]) => g + " " + (100 * s).toFixed(0) + " %").join(", ") : "";
          $("result").hidden = false;
          document.body.setAttribute("data-done", "1");
        }
        $("send").onclick = () => { const f = $("file").files[0]; if (f) classify(f); else status("choose a file first", true); };
        let recorder = null;
        $("record").onclick = async () => {
          if (recorder) { recorder.stop(); return; }
          try {
            const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
            const chunks = []; recorder = new MediaRecorder(stream);
            recorder.ondataavailable = ev => chunks.push(ev.data);
            recorder.onstop = () => { stream.getTracks().forEach(t => t.stop()); $("record").textContent = "Record"; recorder = null;
              classify(new Blob(chunks, { type: chunks[0] ? chunks[0].type : "audio/webm" })); };
            recorder.start(); $("record").textContent = "Stop"; status("recording… press Stop");
          } catch (e) { status("microphone unavailable: " + e, true); }
        };
        const sample = $("sample");
        if (sample) {
          sample.onclick = async () => classify(await (await fetch("/sample")).blob());
          if (new URLSearchParams(location.search).get("sample") === "1") sample.onclick();
        }
        </script></body></html>
        """
    }

    /// HTML-escapes text.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
