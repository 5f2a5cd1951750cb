/* handlers/xmlout — see xmlout.h. */
#include "xmlout.h"

#include <stdlib.h>
#include <string.h>

static const xmlChar *xmlout__x(const char *s)
{
    return (const xmlChar *)s;
}

bool xmlout_begin(struct xmlout *x)
{
    x->buf = xmlBufferCreate();
    x->w = x->buf != NULL ? xmlNewTextWriterMemory(x->buf, 0) : NULL;
    x->failed = x->w == NULL;
    return !x->failed;
}

char *xmlout_finish(struct xmlout *x)
{
    char *out = NULL;

    if (x->w != NULL) {
        xmlout_check(x, xmlTextWriterFlush(x->w));
        if (!x->failed)
            out = strdup((const char *)xmlBufferContent(x->buf));
        xmlFreeTextWriter(x->w);
        x->w = NULL;
    }
    if (x->buf != NULL) {
        xmlBufferFree(x->buf);
        x->buf = NULL;
    }
    return out;
}

void xmlout_check(struct xmlout *x, int rc)
{
    if (rc < 0)
        x->failed = true;
}

void xmlout_start(struct xmlout *x, const char *name)
{
    xmlout_check(x, xmlTextWriterStartElement(x->w, xmlout__x(name)));
}

void xmlout_end(struct xmlout *x)
{
    xmlout_check(x, xmlTextWriterEndElement(x->w));
}

void xmlout_end_full(struct xmlout *x)
{
    xmlout_check(x, xmlTextWriterFullEndElement(x->w));
}

void xmlout_attr(struct xmlout *x, const char *name, const char *value)
{
    xmlout_check(x, xmlTextWriterWriteAttribute(x->w, xmlout__x(name),
                                                xmlout__x(value)));
}

void xmlout_text(struct xmlout *x, const char *text)
{
    xmlout_check(x, xmlTextWriterWriteString(x->w, xmlout__x(text)));
}

void xmlout_element(struct xmlout *x, const char *name, const char *text)
{
    xmlout_check(
        x, xmlTextWriterWriteElement(x->w, xmlout__x(name), xmlout__x(text)));
}
