#!/usr/bin/env node
import { runDemo } from './demo.js';

process.exitCode = await runDemo();
