// gluon_style app page: plain JavaScript, no build step. Defaults and choices come
// from /api/config; every error the server sends is one line, shown in #message.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { config: null, mode: "fast", style: null, photo: null, painting: null,
                  job: null, polling: null };

  function showMessage(text) {
    $("message").textContent = text || "";
    $("message").hidden = !text;
  }

  async function api(url, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    if (opts.method === "POST") opts.headers["X-Gluon-Style"] = "1";
    let resp;
    try {
      resp = await fetch(url, opts);
    } catch (err) {
      throw new Error("cannot reach the gluon_style server (is it still running?)");
    }
    let data = null;
    try { data = await resp.json(); } catch (err) { /* not JSON */ }
    if (!resp.ok) {
      throw new Error((data && data.error) || ("server answered " + resp.status));
    }
    return data;
  }

  // ------------------------------------------------------------ files
  function tooLarge(file) {
    const limit = state.config ? state.config.max_upload_mb : Infinity;
    return file.size > limit * 1024 * 1024
      ? "upload too large: the limit is " + limit + " MB per transfer" : "";
  }

  function setupDrop(kind) {
    const drop = $(kind + "-drop"), input = $(kind + "-input");
    const take = (file) => {
      if (!file) return;
      state[kind] = file;
      $(kind + "-text").textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)";
      const thumb = $(kind + "-thumb");
      if (thumb.src) URL.revokeObjectURL(thumb.src);
      thumb.src = URL.createObjectURL(file);
      thumb.hidden = false;
      thumb.onerror = () => { thumb.hidden = true; };
      showMessage(tooLarge(file));
    };
    input.addEventListener("change", () => take(input.files[0]));
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      take(e.dataTransfer.files[0]);
    });
  }

  // ------------------------------------------------------------ styles and settings
  // modes: "fast" (a trained style), "arbitrary" (your painting, one pass) and
  // "optimize" (your painting, Gatys); the second tab holds the last two
  function setMode(mode) {
    if (mode === "painting") mode = $("method-optimize").checked ? "optimize" : "arbitrary";
    state.mode = mode;
    const tab = mode === "fast" ? "fast" : "optimize";
    for (const m of ["fast", "optimize"]) {
      $("tab-" + m).classList.toggle("active", m === tab);
      $("pane-" + m).hidden = m !== tab;
    }
    $("settings-fast").hidden = mode === "optimize";
    $("settings-optimize").hidden = mode !== "optimize";
  }

  function setupMethods(cfg) {
    const a = cfg.arbitrary;
    $("method-arbitrary").disabled = !a.available;
    $("method-" + (a.available ? "arbitrary" : "optimize")).checked = true;
    $("method-arbitrary").parentElement.title = a.credit;
    $("arbitrary-missing").hidden = a.available;
    $("arbitrary-missing").textContent = "For the fast method, install Magenta's networks: " + a.install;
    for (const m of ["arbitrary", "optimize"]) {
      $("method-" + m).addEventListener("change", () => setMode("painting"));
    }
  }

  function pickStyle(name) {
    state.style = name;
    for (const el of document.querySelectorAll(".style-option")) {
      el.classList.toggle("selected", el.dataset.name === name);
    }
    // styles of one multi-style network blend: offer the others of that network
    const picked = (state.styles || []).find((s) => s.name === name);
    const partners = picked && picked.network
      ? state.styles.filter((s) => s.network === picked.network && s.name !== name) : [];
    const blend = $("blend"), kept = blend.value;
    blend.textContent = "";
    blend.append(new Option("none", ""));
    for (const s of partners) blend.append(new Option(s.name, s.name, false, s.name === kept));
    $("blend-row").hidden = partners.length === 0;
    showMix();
  }

  function showMix() {
    $("mix-row").hidden = !$("blend").value || $("blend-row").hidden;
    $("mix-out").textContent = $("mix").value + "%";
  }

  async function loadStyles() {
    const data = await api("/api/styles");
    state.styles = data.styles;
    const box = $("styles");
    box.textContent = "";
    for (const s of data.styles) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "style-option";
      b.dataset.name = s.name;
      b.title = s.credit ? s.name + ": " + s.credit : s.name;
      const img = document.createElement("img");
      img.src = s.thumbnail;
      img.alt = s.name;
      const label = document.createElement("span");
      label.textContent = s.name;
      b.append(img, label);
      b.addEventListener("click", () => pickStyle(s.name));
      box.append(b);
    }
    $("no-styles").hidden = data.styles.length > 0;
    if (data.styles.length) pickStyle(data.styles[0].name);
    else setMode("painting");
  }

  function showLimits(cfg) {
    const mp = (cfg.max_pixels / 1e6).toPrecision(2);
    const q = cfg.optimize.max_queued;
    $("limits").textContent = "Limits: uploads up to " + cfg.max_upload_mb + " MB; at most " +
      mp + " megapixels per transfer, at the chosen size; at most " + q + " optimization" +
      (q === 1 ? "" : "s") + " waiting behind the one running.";
  }

  function fillSettings(cfg) {
    showLimits(cfg);
    const strength = $("strength");
    strength.value = Math.round(cfg.fast.strength * 100);
    const showStrength = () => { $("strength-out").textContent = strength.value + "%"; };
    strength.addEventListener("input", showStrength);
    showStrength();
    $("mix").value = Math.round(cfg.fast.mix * 100);
    $("mix").addEventListener("input", showMix);
    $("blend").addEventListener("change", showMix);
    for (const mode of cfg.fast.preserve_colors_choices) {
      $("fast-preserve-colors").append(new Option(mode, mode, false,
                                                  mode === cfg.fast.preserve_colors));
    }
    for (const size of cfg.fast.sizes) {
      const o = new Option(size ? "up to " + size + " px" : "original size", size);
      o.selected = size === cfg.fast.size;
      $("fast-size").append(o);
    }
    const o = cfg.optimize;
    const weight = $("style-weight");
    // a log-scale slider two decades either side of the library's default
    const center = Math.log10(o.style_weight);
    weight.min = center - 2;
    weight.max = center + 2;
    weight.value = center;
    const showWeight = () => {
      $("style-weight-out").textContent = String(Number(Math.pow(10, weight.value).toPrecision(2)));
    };
    weight.addEventListener("input", showWeight);
    showWeight();
    $("content-weight").value = o.content_weight;
    $("opt-size").value = o.size;
    $("opt-size").max = o.max_size;
    $("iterations").value = o.iterations;
    $("iterations").max = o.max_iterations;
    $("iterations").parentElement.title = "at the first scale of the coarse-to-fine run; each " +
      "later scale runs " + Math.round(100 * o.refine_fraction) + "% of them";
    for (const mode of o.preserve_colors_choices) {
      const opt = new Option(mode, mode);
      opt.selected = mode === o.preserve_colors;
      $("preserve-colors").append(opt);
    }
  }

  // ------------------------------------------------------------ transfer
  function formFor() {
    const form = new FormData();
    if (!state.photo) throw new Error("choose a photo first");
    form.append("photo", state.photo, state.photo.name);
    if (state.mode !== "fast") {
      if (!state.painting) throw new Error("choose a painting first");
      form.append("painting", state.painting, state.painting.name);
    }
    if (state.mode !== "optimize") {
      if (state.mode === "fast" && !state.style) {
        throw new Error("no trained style to pick: upload a painting instead");
      }
      if (state.mode === "fast") {
        form.append("style", state.style);
        if ($("blend").value && !$("blend-row").hidden) {
          form.append("blend", $("blend").value);
          form.append("mix", $("mix").value / 100);
        }
      }
      form.append("strength", $("strength").value / 100);
      form.append("preserve_colors", $("fast-preserve-colors").value);
      form.append("size", $("fast-size").value);
      return form;
    }
    form.append("style_weight", Math.pow(10, $("style-weight").value));
    form.append("content_weight", $("content-weight").value);
    form.append("size", $("opt-size").value);
    form.append("iterations", $("iterations").value);
    form.append("preserve_colors", $("preserve-colors").value);
    return form;
  }

  async function transfer() {
    showMessage("");
    let form;
    try {
      form = formFor();
      const big = tooLarge(state.photo) || (state.mode !== "fast" && tooLarge(state.painting));
      if (big) throw new Error(big);
    } catch (err) { showMessage(err.message); return; }
    $("transfer").disabled = true;
    const onePass = state.mode !== "optimize";
    $("result-info").textContent = onePass ? "stylizing..." : "";
    try {
      const size = Number($("fast-size").value), preview = state.config.fast.preview;
      if (onePass && (size === 0 || size > preview)) {
        // a quick small pass first, shown while the full size is computed
        const small = formFor();
        small.set("size", preview);
        const p = await api("/api/" + state.mode, { method: "POST", body: small });
        showImages(p.content, p.result);
        $("download").hidden = true;
        $("result-info").textContent = "preview at " + preview + " px; full size coming...";
      }
      const job = await api("/api/" + state.mode, { method: "POST", body: form });
      state.job = job.id;
      if (job.status === "done") showResult(job);
      else follow(job);
    } catch (err) {
      showMessage(err.message);
      $("result-info").textContent = "";
    } finally {
      if (!state.polling) $("transfer").disabled = false;
    }
  }

  function follow(job) {
    $("progress-box").hidden = false;
    $("stop").hidden = false;
    showProgress(job);
    state.polling = setInterval(async () => {
      try {
        const j = await api("/api/jobs/" + job.id);
        showProgress(j);
        if (["done", "error", "cancelled"].includes(j.status)) {
          stopPolling();
          if (j.result) showResult(j);
          if (j.message) showMessage(j.message);
        }
      } catch (err) { stopPolling(); showMessage(err.message); }
    }, 500);
  }

  function stopPolling() {
    clearInterval(state.polling);
    state.polling = null;
    $("progress-box").hidden = true;
    $("transfer").disabled = false;
    $("stop").hidden = true;
  }

  function showProgress(j) {
    const total = j.iterations || 1;
    $("progress").value = j.step / total;
    let text;
    if (j.status === "queued") {
      text = "queued: " + j.ahead + " job" + (j.ahead === 1 ? "" : "s") + " ahead";
    } else if (j.status === "running" && !j.step) {
      text = "preparing the loss network...";
    } else {
      const loss = j.losses && j.losses.total !== undefined ? j.losses.total.toExponential(3) : "-";
      const eta = j.step ? Math.max(0, j.elapsed / j.step * (total - j.step)) : 0;
      text = "iteration " + j.step + " of " + total + " \u00b7 loss " + loss + " \u00b7 " +
        j.elapsed.toFixed(1) + " s" + (j.status === "running" ? " \u00b7 about " + eta.toFixed(0) + " s left" : "");
    }
    $("progress-text").textContent = text;
    if (j.preview && j.status === "running") showImages(j.content, j.preview);
  }

  function showImages(before, after) {
    $("before-img").src = before;
    $("result-img").src = after;
    $("placeholder").hidden = true;
    $("frame").hidden = false;
  }

  function showResult(j) {
    showImages(j.content, j.result);
    const dl = $("download");
    dl.href = j.result + "?download=1";
    dl.setAttribute("download", "");
    dl.hidden = false;
    $("result-info").textContent = j.mode === "fast"
      ? "stylized with " + j.options.style +
        (j.options.mix ? " + " + Math.round(100 * j.options.mix) + "% " + j.options.blend : "") +
        " in " + j.seconds.toFixed(2) + " s"
      : j.mode === "arbitrary"
        ? "painted like " + j.options.painting + " in " + j.seconds.toFixed(2) + " s (one pass)"
        : "optimized: " + j.step + " iterations in " + j.elapsed.toFixed(1) + " s";
  }

  function setSplit() {
    const v = $("split").value;
    $("after").style.clipPath = "inset(0 0 0 " + v + "%)";
    $("divider").style.left = v + "%";
  }

  async function start() {
    setupDrop("photo");
    setupDrop("painting");
    $("tab-fast").addEventListener("click", () => setMode("fast"));
    $("tab-optimize").addEventListener("click", () => setMode("painting"));
    $("transfer").addEventListener("click", transfer);
    $("stop").addEventListener("click", () => {
      if (state.job) api("/api/jobs/" + state.job + "/cancel", { method: "POST" }).catch(() => {});
    });
    $("split").addEventListener("input", setSplit);
    window.addEventListener("dragover", (e) => e.preventDefault());
    window.addEventListener("drop", (e) => e.preventDefault());
    try {
      state.config = await api("/api/config");
      fillSettings(state.config);
      setupMethods(state.config);
      await loadStyles();
    } catch (err) { showMessage(err.message); }
    document.body.dataset.ready = "1";
  }

  start();
})();
