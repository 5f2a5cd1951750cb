/* handlers/xmlout — an in-memory libxml2 xmlTextWriter that remembers
 * whether any call on it failed, so a document is written as a straight
 * sequence of calls with one check at the end. Shared by the Atom feed
 * (feeds.c) and the embed card and oEmbed iframe (embed.c); libxml2 does
 * all the escaping. */
#ifndef MEDQA_HANDLERS_XMLOUT_H
#define MEDQA_HANDLERS_XMLOUT_H

#include <libxml/xmlwriter.h>
#include <stdbool.h>

struct xmlout {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
    bool failed;
};

/* Starts an empty document in memory. False (and x->failed) when out of
 * memory; xmlout_finish must be called either way. */
bool xmlout_begin(struct xmlout *x);

/* Flushes and frees the writer and its buffer. Returns the text written,
 * a new string the caller frees with free(), or NULL when any call
 * failed. */
char *xmlout_finish(struct xmlout *x);

/* Records a libxml2 writer call's result (negative is a failure), for
 * the calls this module does not wrap. */
void xmlout_check(struct xmlout *x, int rc);

void xmlout_start(struct xmlout *x, const char *name);
/* Ends the open element, as <e/> when it is empty. */
void xmlout_end(struct xmlout *x);
/* Ends the open element with an end tag even when empty: HTML reads <p/>
 * as an open <p>. */
void xmlout_end_full(struct xmlout *x);
void xmlout_attr(struct xmlout *x, const char *name, const char *value);
void xmlout_text(struct xmlout *x, const char *text);
/* <name>text</name>. */
void xmlout_element(struct xmlout *x, const char *name, const char *text);

#endif
