"""重大事件综合指挥调度: the major-event domain service, its read model, settings and demo."""
