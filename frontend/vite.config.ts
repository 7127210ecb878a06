/// <reference types="vitest/config" />
// Vite builds the web app into dist/ (served by the gateway at /); `npm run dev` proxies the API and
// the sockets to a gateway on 127.0.0.1:8000 (override with BABELROOM_GATEWAY).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

declare const process: { env: Record<string, string | undefined> }; // no @types/node needed
const gateway = process.env.BABELROOM_GATEWAY ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: {
      onwarn(warning, warn) {
        // janus.es.js keeps its UMD wrapper (`module.exports` when CommonJS); in a browser it takes the
        // `window` branch, so the warning is noise.
        if (warning.code === "COMMONJS_VARIABLE_IN_ESM" && warning.id?.includes("janus-gateway")) return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      "/api": gateway,
      "/ws": { target: gateway, ws: true },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
