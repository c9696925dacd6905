/*
 * openapi.h: docs/openapi.yaml as compact JSON, compiled in.
 *
 * app/openapi_doc.c is generated at build time by scripts/openapi-to-c
 * (never edited, never committed), so the document served is always the
 * one of the source this binary was built from.  openapi_etag is a strong
 * validator of exactly these bytes ("<16 hex digits of SHA-256>").
 */
#ifndef APP_OPENAPI_H
#define APP_OPENAPI_H

#include <stddef.h>

extern const char openapi_json[];
extern const size_t openapi_json_len;
extern const char openapi_etag[];

#endif
