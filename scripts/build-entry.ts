/** The bundle's entry: pg loaded without its undici probe (build-pg-probe.ts), then the program. */
import "./build-pg-probe.js"
import "../src/bin.js"
