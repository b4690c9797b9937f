"""SOP templates as data: the file format, its validation, and the templates the platform ships."""
