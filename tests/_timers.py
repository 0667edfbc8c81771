"""What tests of the timer heap share."""


def file_new_timers(loop):
    """Do now what our loop's next pass does first: file the timers scheduled since the last
    pass in the heap and its table (chapter 2). asyncio's loop files each timer at once, so
    for it, and for a learner's loop that does the same, there is nothing to do."""
    file = getattr(loop, "_file_new_timers", None)
    if file is not None:
        file()
