/* genre-classify's operands: files as given, directories walked.
 *
 * A directory is searched recursively for audio files, recognised by their
 * name's ending (WALK_AUDIO_EXTENSIONS, any case), in sorted order (byte
 * order of the names, directory by directory, so the output is the same
 * in every locale).  Hidden entries (names starting with '.') are
 * skipped, and so are symbolic links to directories (a link loop would
 * never end); links to files are followed.  A directory that cannot be
 * read becomes an error item naming it, and so does a directory operand
 * with no audio file anywhere under it: both are failures of that
 * operand, and the other operands are still classified. */
#ifndef GENRE_TOOLS_WALK_H
#define GENRE_TOOLS_WALK_H

#include <stdbool.h>
#include <stddef.h>

#define WALK_AUDIO_EXTENSIONS "wav flac ogg opus oga mp3 au aiff aif"

typedef struct walk_item {
    char *path;
    char *error;        /* NULL: a file to classify; else why this directory failed */
} walk_item;

typedef struct walk_list {
    walk_item *items;
    size_t n, cap;
} walk_list;

/* Whether a file name ends in one of WALK_AUDIO_EXTENSIONS. */
bool walk_is_audio_name(const char *name);

/* Appends operand: itself when it is not a directory (reading it will
 * say what is wrong with it), else the audio files under it.  -1 only when
 * out of memory. */
int walk_add(walk_list *list, const char *operand);

void walk_free(walk_list *list);

#endif
