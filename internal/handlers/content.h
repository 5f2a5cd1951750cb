/* handlers/content — what a republisher must show with medqa's content
 * (issue 14), shared by the Atom feed, the embed card, oEmbed and the
 * JSON-LD view: the canonical web address of a question, from
 * PUBLIC_WEB_URL, and the one place that knows how it is spelt. */
#ifndef MEDQA_HANDLERS_CONTENT_H
#define MEDQA_HANDLERS_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

struct config;

/* The longest canonical URL or API address written here. */
#define CONTENT_URL_MAX 1024

/* Writes the public web page of question `id` (PUBLIC_WEB_URL with its
 * "{id}" replaced) into buf. Returns false, with buf "", when
 * PUBLIC_WEB_URL is unset or the result does not fit: then there is no
 * canonical URL, and none is invented. */
bool content_canonical_url(const struct config *cfg, const char *id, char *buf,
                           size_t len);

/* When `url` is a canonical URL this configuration makes (the template
 * with a UUID in place of "{id}"), writes that UUID (37 bytes with its
 * NUL) into id and returns true; otherwise false. */
bool content_question_of_url(const struct config *cfg, const char *url,
                             char id[37]);

#endif
