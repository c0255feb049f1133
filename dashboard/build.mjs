// Build the dashboard into dist/: one bundled script (graphql-ws included), one stylesheet,
// and the page. Nothing is loaded from anywhere but carepay itself.
import { copyFile, mkdir, rm } from "node:fs/promises";
import { build } from "esbuild";

const out = new URL("./dist/", import.meta.url);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: "src/main.js" },
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  outdir: "dist",
  absWorkingDir: new URL(".", import.meta.url).pathname,
  logLevel: "warning",
});
await build({
  entryPoints: { app: "src/style.css" },
  bundle: true,
  minify: true,
  outdir: "dist",
  absWorkingDir: new URL(".", import.meta.url).pathname,
  logLevel: "warning",
});
await copyFile(new URL("./src/index.html", import.meta.url), new URL("index.html", out));
