#!/usr/bin/env node
/** `node dist/openapi-main.js`: prints the API's OpenAPI document (JSON) on stdout — what the CLI's client is typed from. */
import { openApiDocument } from './openapi-document.js';

process.stdout.write(`${JSON.stringify(await openApiDocument(), null, 2)}\n`);
