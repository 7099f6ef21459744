"""重大事件综合指挥调度 (articles 10, 11): the major-event command case type."""
