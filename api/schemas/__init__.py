"""Request and response models: per resource a Create / Update / Public family; tables never leave."""
