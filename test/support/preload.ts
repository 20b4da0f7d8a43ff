/** Runs before every test file (bunfig.toml); its afterAll runs once, after the last test of the run. */
import { afterAll } from "bun:test";
import { killLeftoverRedis } from "./redis";

afterAll(killLeftoverRedis);
